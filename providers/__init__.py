"""The model providers: chat models (`providers.llm`: OpenAI, Anthropic, compatible
servers) and embedding models (`providers.embeddings`: the local ONNX models shipped in
PyPI packages, or an OpenAI-compatible API). The apps call them; they know nothing of
the apps."""
