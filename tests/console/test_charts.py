"""The console's SVG charts: proportional, escaped, accessible, well-formed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from console.charts import MAX_LABEL_CHARS, Series, bar_chart, time_chart

SVG = "{http://www.w3.org/2000/svg}"
HOUR = ("60 min ago", "30 min ago", "now")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # fails on anything not well-formed, unescaped text included


def bars(svg: str) -> list[ET.Element]:
    return [rect for rect in parse(svg).iter(f"{SVG}rect") if rect.get("class") == "bar"]


def test_bar_lengths_are_proportional_to_the_values():
    svg = bar_chart("chart-x", "Memories", ["a", "b", "c", "d"], [Series("memories", [40, 10, 20, 0])])
    widths = [float(rect.get("width", "")) for rect in bars(svg)]
    assert widths[0] > 0
    assert widths[1:] == pytest.approx([widths[0] / 4, widths[0] / 2, 0], abs=0.5)


def test_a_tiny_value_still_shows_a_bar():
    svg = bar_chart("chart-x", "Memories", ["big", "small"], [Series("memories", [100_000, 1])])
    assert [float(rect.get("width", "")) >= 1 for rect in bars(svg)] == [True, True]


def test_grouped_bars_have_a_legend_and_one_scale():
    svg = bar_chart(
        "chart-latency",
        "Latency",
        ["Search", "Writes"],
        [Series("p50", [2, 4], "#111111"), Series("p99", [8, None], "#222222")],
        unit="ms",
    )
    rects = bars(svg)
    assert [rect.get("fill") for rect in rects] == ["#111111", "#222222", "#111111"]  # no bar for None
    widths = [float(rect.get("width", "")) for rect in rects]
    assert widths[0] * 4 == pytest.approx(widths[1], abs=0.5)
    assert widths[2] == pytest.approx(widths[0] * 2, abs=0.5)
    texts = "".join(parse(svg).itertext())
    assert "p50" in texts and "p99" in texts  # the legend
    assert "8 ms" in texts


def test_labels_and_titles_are_escaped():
    hostile = '<script>alert("x")</script>&'
    svg = bar_chart("chart-x", f"Title {hostile}", [hostile], [Series(f"series {hostile}", [3])])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    labels = [text for text in root.iter(f"{SVG}title")]
    assert any(hostile in (label.text or "") for label in labels)  # the full text, as text


def test_long_labels_are_shortened_with_the_full_label_as_tooltip():
    name = "a-very-long-namespace-name-for-a-tenant"
    svg = bar_chart("chart-x", "Memories", [name], [Series("memories", [1])])
    (label,) = [text for text in parse(svg).iter(f"{SVG}text") if text.find(f"{SVG}title") is not None]
    assert label.find(f"{SVG}title").text == name  # type: ignore[union-attr]
    assert "".join(label.itertext()).endswith(name[: MAX_LABEL_CHARS - 1] + "…")


def test_charts_are_labelled_for_screen_readers():
    svg = bar_chart("chart-ns", "Sessions per namespace", ["alpha", "beta"], [Series("sessions", [2, 1])])
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-ns-title chart-ns-desc"
    assert root.find(f"{SVG}title").text == "Sessions per namespace"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "alpha: sessions 2; beta: sessions 1"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("chart_id", "labels", "values", "problem"),
    [
        ('x" onload="alert(1)', ["a"], [1], "is not lower-case letters"),
        ("chart-x", ["a", "b"], [1], "has 1 values, not 2"),
        ("chart-x", [], [], "has nothing to draw"),
    ],
)
def test_bad_input_is_refused(chart_id, labels, values, problem):
    with pytest.raises(ValueError, match=problem):
        bar_chart(chart_id, "t", labels, [Series("s", values)])


def test_a_line_breaks_where_values_are_unknown_and_dots_a_lone_value():
    values = [None, None, 1, 3, 2, None, 4]
    svg = time_chart("chart-queued", "Jobs waiting", Series("jobs waiting", values), HOUR)
    root = parse(svg)
    (line,) = root.iter(f"{SVG}polyline")
    points = [tuple(map(float, point.split(","))) for point in (line.get("points") or "").split()]
    assert len(points) == 3
    ys = [y for _, y in points]
    assert ys[1] < ys[2] < ys[0]  # 3 drawn highest, then 2, then 1 (y grows downwards)
    (dot,) = root.iter(f"{SVG}circle")
    assert float(dot.get("cx", "")) > points[-1][0]
    texts = list(root.itertext())
    assert "5" in texts and "0" in texts  # the y axis: 0 to a round number at least the highest
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text == "jobs waiting, 60 min ago to now: highest 4, last 4."


def test_columns_are_proportional_and_absent_for_zero():
    svg = time_chart("chart-failed", "Failures", Series("failures", [0, 2, 0, 4]), HOUR, style="columns")
    heights = [float(rect.get("height", "")) for rect in bars(svg)]
    assert len(heights) == 2
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.5)


def test_output_is_marked_safe_for_templates_only_after_escaping():
    svg = time_chart("chart-x", "<b>", Series("<i>", [1, 2]), ("<1>", "<2>", "<3>"))
    assert hasattr(svg, "__html__")
    assert not re.search(r"<(b|i|1|2|3)>", svg)
