"""Long-term memory's Redis keys besides the memories themselves (longterm_app.repository):
the search index and its metadata (index), the namespaces' topic models (topics).
"""
