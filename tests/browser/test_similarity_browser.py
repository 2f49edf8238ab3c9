"""The similarity section of the instructor's report in Chromium: under the report's script-free
Content-Security-Policy the heat map shows, the ranked pairs start with the planted copies, and the
top pair's cells stand side by side with the shared passages highlighted."""
import similarity_class as sc
from grading.reports import report, similarity


def test_similarity_section_renders_with_highlights(tmp_path, browser, shots):
    subs, planted, _, _ = sc.build_class()
    comparison = similarity.compare(subs)
    planted = [(a, b) for a, b, _ in planted]
    page_file = tmp_path / "report.html"
    page_file.write_text(report.render(None, [similarity.section_html(comparison)]))
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    console, failed = [], []
    page.on("console", lambda m: console.append(m.text))
    page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        page.goto(page_file.as_uri())
        section = page.locator("#similarity")
        section.scroll_into_view_if_needed()
        heat = page.locator("#similarity-heatmap")
        assert heat.evaluate("img => img.complete && img.naturalWidth > 100 && img.naturalHeight > 100")
        assert f"Heat map of pair scores for {len(subs)} students" in heat.get_attribute("alt")
        shots(page, "heat_map")

        rows = page.locator("#similarity-pairs tr")
        flagged = len(comparison.flagged)
        top = [frozenset(rows.nth(i).locator("td").nth(k).inner_text() for k in (1, 2)) for i in range(1, flagged + 1)]
        assert set(top) <= {frozenset(p) for p in planted} and flagged >= 1  # every flagged pair listed
        assert rows.nth(1).locator(".flag").inner_text() == "look"
        assert page.locator("#similarity-cells tr").count() > 10  # the top pairs per cell

        first = page.locator("#similarity details.evidence").first
        assert first.get_attribute("open") is not None
        marks = first.locator("mark")
        assert marks.count() >= 8
        first.locator("table.pair").first.scroll_into_view_if_needed()
        assert marks.first.is_visible()
        colour = marks.first.evaluate("m => getComputedStyle(m).backgroundColor")
        assert colour == "rgb(255, 213, 79)", colour  # the section's own style applies under the CSP
        # side by side: the two columns of the first cell start at the same height, left and right
        cols = first.locator("table.pair").first.locator("tr").nth(1).locator("td")
        left, right = cols.nth(0).bounding_box(), cols.nth(1).bounding_box()
        assert abs(left["y"] - right["y"]) < 2 and right["x"] > left["x"] + left["width"] - 2
        # both sides of a highlighted cell have highlights
        assert cols.nth(0).locator("mark").count() and cols.nth(1).locator("mark").count()
        shots(page, "top_pair_side_by_side")

        closed = page.locator("#similarity details.evidence").nth(1)
        closed.locator("summary").click()
        assert closed.locator("mark").first.is_visible()
        shots(page, "second_pair_opened")
        assert not [m for m in console if "Content Security Policy" in m], console
        assert not failed, failed
    finally:
        context.close()
