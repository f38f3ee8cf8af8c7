// SPDX-License-Identifier: Apache-2.0
//
// A Timeline as one self-contained HTML page (inline CSS and script, nothing fetched, works
// from file://): per panel a grid of pages × statements (or steps) coloured by state, frames
// highlighted together on hover, a side column for the selected statement, failed
// expectations in red, differing cells outlined (diff, compare), the threads' lanes (replay,
// explore), keyboard navigation and a legend.

import Foundation
import MMLab
import MMScenario

public enum TimelineHTML {
    /// One row of a grid.
    struct Row {
        var label: String
        var process: String
        var mapping: String
        var page: Int
    }

    /// A group of rows: one mapping of one process.
    struct Group {
        var process: String
        var mapping: String
        var rows: [Row]
    }

    /// One cell, decoded.
    struct Cell: Equatable {
        var state: PageState
        /// "frame #3", "zero page", "swap slot #1", "marker guard", "".
        var identity: String
        /// The key cells showing the same frame or slot share ("f3", "s1"), or "".
        var key: String
        var word: UInt64
    }

    /// A panel laid out: its groups and its cells by row label, per column.
    struct Layout {
        var groups: [Group]
        var cells: [[String: Cell]]
    }

    /// Lays a panel out: rows in order of first appearance grouped by process and mapping,
    /// frames and swap slots numbered in order of first appearance (columns left to right,
    /// rows top to bottom), as the text report numbers them.
    static func layout(_ panel: TimelinePanel) -> Layout {
        var groupIndex: [String: Int] = [:]
        var groups: [Group] = []
        var seenRows: [String: Bool] = [:]
        for c in panel.columns {
            for s in c.pages where seenRows[s.label] == nil {
                seenRows[s.label] = true
                let gk = s.process + "\u{0}" + s.mapping
                if groupIndex[gk] == nil {
                    groupIndex[gk] = groups.count
                    groups.append(Group(process: s.process, mapping: s.mapping, rows: []))
                }
                groups[groupIndex[gk]!].rows.append(Row(label: s.label, process: s.process, mapping: s.mapping, page: s.page))
            }
        }
        for i in groups.indices { groups[i].rows.sort { $0.page < $1.page } }
        var frames: [UInt64: Int] = [:], slots: [UInt64: Int] = [:]
        var cells: [[String: Cell]] = []
        for c in panel.columns {
            var byLabel: [String: Cell] = [:]
            let samples = c.pages
            // Rows top to bottom within the column: samples come in that order already.
            for s in samples {
                let state = PageState(word: s.word, ksm: s.ksm, zeroPFN: panel.zeroPFN)
                var identity = "", key = ""
                let w = s.word
                if PagemapWord.isPresent(w) {
                    if state.stateClass == .zero {
                        identity = "zero page"
                    } else {
                        let k = w & PM.pframeMask
                        if frames[k] == nil { frames[k] = frames.count + 1 }
                        identity = "frame #\(frames[k]!)"
                        key = "f\(frames[k]!)"
                    }
                } else if PagemapWord.isRealSwap(w) {
                    let k = w & PM.pframeMask
                    if slots[k] == nil { slots[k] = slots.count + 1 }
                    identity = "swap type \(PagemapWord.swapType(w)) slot #\(slots[k]!)"
                    key = "s\(slots[k]!)"
                } else if state.stateClass != .none {
                    identity = "marker " + state.stateClass.rawValue
                }
                byLabel[s.label] = Cell(state: state, identity: identity, key: key, word: w)
            }
            cells.append(byLabel)
        }
        return Layout(groups: groups, cells: cells)
    }

    /// Escapes text for HTML content and attribute values.
    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func hex16(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - s.count)) + s
    }

    /// The command's name in the page's heading.
    static func commandName(_ k: Timeline.Kind) -> String {
        switch k {
        case .explore: "explore (shortest counterexample)"
        default: k.rawValue
        }
    }

    /// For each panel but a reference one, the cells (column, row label) that differ from the
    /// reference: diff compares kernel with model, compare every design with the first.
    static func differences(_ layouts: [Layout], reference: Int) -> [[Set<String>]] {
        layouts.enumerated().map { (p, l) in
            l.cells.enumerated().map { (c, cells) -> Set<String> in
                guard layouts.count > 1 else { return [] }
                var out: Set<String> = []
                let others = p == reference ? Array(layouts.indices.filter { $0 != reference }) : [reference]
                for (label, cell) in cells {
                    for o in others {
                        let oc = c < layouts[o].cells.count ? layouts[o].cells[c][label] : nil
                        if let oc, oc.state == cell.state && oc.identity == cell.identity { continue }
                        out.insert(label)
                    }
                }
                return out
            }
        }
    }

    /// The page.
    public static func render(_ t: Timeline) -> String {
        let layouts = t.panels.map(layout)
        let diffs = (t.kind == .diff || t.kind == .compare) ? differences(layouts, reference: 0) : layouts.map { $0.cells.map { _ in Set<String>() } }
        var h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        h += "<title>mmlab \(esc(t.kind.rawValue)): \(esc(t.file))</title>\n<style>\n\(css)</style>\n</head>\n"
        h += "<body class=\"kind-\(t.kind.rawValue)\">\n<header>\n"
        h += "<h1>mmlab \(esc(commandName(t.kind))) <code>\(esc(t.file))</code></h1>\n"
        if let title = t.title { h += "<p class=\"title\">\(esc(title))</p>\n" }
        if !t.summary.isEmpty {
            h += "<ul class=\"summary\">\n"
            for s in t.summary { h += "<li\(s.contains("FAILS") ? " class=\"bad\"" : "")>\(esc(s))</li>\n" }
            h += "</ul>\n"
        }
        h += "<p class=\"keys\">Keys: ← → column, ↑ ↓ page, Home End first and last column, Enter collapse or open the mapping, "
        h += "p next grid, l legend. Hover a cell: the same frame is highlighted everywhere in its grid.</p>\n"
        h += "</header>\n<div id=\"main\">\n<div id=\"grids\" class=\"\(t.kind == .diff ? "side-by-side" : "stacked")\">\n"
        for (p, panel) in t.panels.enumerated() {
            h += grid(panel, index: p, layout: layouts[p], differing: diffs[p], kind: t.kind, lanes: p == 0 ? t.lanes : [])
        }
        h += "</div>\n<aside id=\"side\" aria-live=\"polite\"><p class=\"hint\">Select a column (click, or ← →) to see its statement.</p></aside>\n</div>\n"
        h += legend()
        h += "<script type=\"application/json\" id=\"timeline-data\">\(data(t))</script>\n"
        h += "<script>\n\(script)</script>\n</body>\n</html>\n"
        return h
    }

    /// The lanes of replay and explore: one row per thread, the step each took (rows of the
    /// grid's head, so that a step's lane cell sits above its column).
    static func lanes(_ names: [String], _ panel: TimelinePanel, index p: Int) -> String {
        var h = ""
        for name in names {
            h += "<tr class=\"lane\"><th class=\"rowhead\">thread \(esc(name))</th>"
            for (c, col) in panel.columns.enumerated() {
                if col.thread == name {
                    let word = col.text.split(separator: " ").first.map(String.init) ?? ""
                    h += "<td class=\"step\" data-p=\"\(p)\" data-c=\"\(c)\" title=\"\(esc("line \(col.line): \(col.text) — \(col.result)"))\">\(esc(word))</td>"
                } else {
                    h += "<td></td>"
                }
            }
            h += "</tr>\n"
        }
        return h
    }

    /// One panel's grid.
    static func grid(_ panel: TimelinePanel, index p: Int, layout: Layout, differing: [Set<String>], kind: Timeline.Kind,
                     lanes laneNames: [String]) -> String {
        let stepWord = (kind == .replay || kind == .explore) ? "step" : "line"
        var h = "<section class=\"panel\" data-p=\"\(p)\">\n<h2>\(esc(panel.name))</h2>\n"
        if panel.columns.isEmpty {
            h += "<p class=\"empty\">No statement ran.</p>\n"
        }
        h += "<div class=\"scroll\"><table class=\"grid\">\n<thead><tr><th class=\"rowhead\">\(stepWord)</th>"
        for (c, col) in panel.columns.enumerated() {
            let label = col.label ?? "\(col.line)"
            h += "<th class=\"col\(col.failed ? " failed" : "")\" data-p=\"\(p)\" data-c=\"\(c)\" title=\"\(esc("line \(col.line): \(col.text)"))\">\(label)</th>"
        }
        h += "</tr>\n" + lanes(laneNames, panel, index: p) + "<tr class=\"expect\"><th class=\"rowhead\">expect</th>"
        for (c, col) in panel.columns.enumerated() {
            let cls = col.expectations.isEmpty ? "" : (col.failed ? "x-failed" : "x-met")
            let tip = col.expectations.map { ($0.met ? "met: " : "FAILED: ") + $0.message }.joined(separator: "\n")
            h += "<td class=\"\(cls)\" data-p=\"\(p)\" data-c=\"\(c)\"\(tip.isEmpty ? "" : " title=\"\(esc(tip))\"")></td>"
        }
        h += "</tr></thead>\n"
        for (g, group) in layout.groups.enumerated() {
            h += "<tbody class=\"group\" data-g=\"\(g)\">\n<tr class=\"ghead\"><th colspan=\"\(panel.columns.count + 1)\">"
            h += "<button class=\"toggle\" aria-expanded=\"true\">▾</button> \(esc(group.process)): \(esc(group.mapping)) "
            h += "<span class=\"n\">(\(group.rows.count) page\(group.rows.count == 1 ? "" : "s"))</span></th></tr>\n"
            for row in group.rows {
                h += "<tr class=\"page\"><th class=\"rowhead\">\(esc(row.label))</th>"
                for (c, col) in panel.columns.enumerated() {
                    guard let cell = layout.cells[c][row.label] else {
                        h += "<td class=\"gone\" data-p=\"\(p)\" data-c=\"\(c)\"></td>"
                        continue
                    }
                    var cls = "s-\(cell.state.stateClass.rawValue)"
                    for m in cell.state.marks { cls += " m-\(m.rawValue)" }
                    if differing[c].contains(row.label) { cls += " d" }
                    var tip = "\(row.label) after \(col.label.map { "step \($0)" } ?? "line \(col.line)"): \(cell.state.stateClass.legend)"
                    if !cell.identity.isEmpty { tip += ", \(cell.identity)" }
                    for m in cell.state.marks { tip += ", \(m.legend)" }
                    tip += "\npagemap \(hex16(cell.word)): \(PagemapWord.bitNames(cell.word).joined(separator: " "))"
                    if differing[c].contains(row.label) { tip += "\ndiffers from \(kind == .diff ? (p == 0 ? "the kernel" : "the model") : (p == 0 ? "another design" : "the first design"))" }
                    h += "<td class=\"\(cls)\" data-p=\"\(p)\" data-c=\"\(c)\"\(cell.key.isEmpty ? "" : " data-k=\"\(cell.key)\"") title=\"\(esc(tip))\"></td>"
                }
                h += "</tr>\n"
            }
            h += "</tbody>\n"
        }
        h += "</table></div>\n"
        if !panel.footer.isEmpty {
            h += "<ul class=\"footer\">\n"
            for f in panel.footer {
                let bad = f.contains("FAILS") || f.hasPrefix("stopped") || f.hasPrefix("problem") || (f.contains(" failed") && !f.hasSuffix(" 0 failed"))
                h += "<li\(bad ? " class=\"bad\"" : "")>\(esc(f))</li>\n"
            }
            h += "</ul>\n"
        }
        return h + "</section>\n"
    }

    static func legend() -> String {
        var h = "<section id=\"legend\"><h2>legend</h2>\n<ul class=\"legend\">\n"
        for s in PageStateClass.allCases {
            h += "<li><span class=\"sw s-\(s.rawValue)\"></span>\(esc(s.legend)) <small>(\(s.group))</small></li>\n"
        }
        for m in PageMark.allCases {
            h += "<li><span class=\"sw s-none m-\(m.rawValue)\"></span>\(esc(m.legend))</li>\n"
        }
        h += "<li><span class=\"sw s-exclusive d\"></span>differs from the other side (diff) or the first design (compare)</li>\n"
        h += "<li><span class=\"sw x-failed\"></span>a failed expectation</li>\n"
        return h + "</ul></section>\n"
    }

    /// What the side column shows, per panel and column, as JSON (with `</` escaped so that
    /// the script element cannot end early).
    static func data(_ t: Timeline) -> String {
        let panels: [JSON] = t.panels.map { panel in
            .object([
                ("name", .string(panel.name)),
                ("columns", .array(panel.columns.enumerated().map { (c, col) in
                    var f: [(String, JSON)] = [
                        ("step", .string(col.label ?? "")), ("line", .int(col.line)), ("text", .string(col.text)),
                        ("process", .string(col.process)), ("result", .string(col.result)),
                        ("notes", .array(col.notes.map { .string($0) })),
                        ("expectations", .array(col.expectations.map { .object([("met", .bool($0.met)), ("message", .string($0.message))]) })),
                        ("pte", .array(col.pteChanges.map { .string($0) })),
                    ]
                    if let th = col.thread { f.append(("thread", .string(th))) }
                    // A statement's result other than success is drawn in red; a step's is what it did.
                    f.append(("bad", .bool(col.label == nil && col.result != "success")))
                    return .object(f)
                })),
            ])
        }
        let root = JSON.object([("kind", .string(t.kind.rawValue)), ("file", .string(t.file)), ("panels", .array(panels))])
        return root.rendered.replacingOccurrences(of: "</", with: "<\\/")
    }

    /// Writes the page; nil when done, else the error for people.
    public static func write(_ t: Timeline, to path: String) -> String? {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            return "\(path): error: cannot write the HTML timeline: expected a folder \(folder), found none"
        }
        do {
            try Data(render(t).utf8).write(to: URL(fileURLWithPath: path))
            return nil
        } catch {
            return "\(path): error: cannot write the HTML timeline: \(error.localizedDescription)"
        }
    }

    static let css = """
    :root { --cell: 14px; font-family: system-ui, sans-serif; font-size: 14px; color: #222; }
    body { margin: 0; padding: 0 12px 24px; background: #fff; }
    header h1 { font-size: 18px; margin: 12px 0 4px; }
    header .title { margin: 0 0 6px; color: #444; }
    .summary { margin: 4px 0; padding-left: 18px; }
    .bad { color: #c62828; font-weight: 600; }
    .keys { color: #666; font-size: 12px; margin: 4px 0 8px; }
    #main { display: flex; gap: 12px; align-items: flex-start; }
    #grids { flex: 1 1 auto; min-width: 0; }
    #grids.side-by-side { display: flex; gap: 12px; }
    #grids.side-by-side .panel { flex: 1 1 0; min-width: 0; }
    .panel h2, #legend h2 { font-size: 15px; margin: 10px 0 4px; }
    .scroll { overflow: auto; max-height: 70vh; border: 1px solid #ddd; }
    table { border-collapse: separate; border-spacing: 1px; }
    th.rowhead { position: sticky; left: 0; background: #fafafa; text-align: right; font: 11px ui-monospace, monospace;
                 padding: 0 6px; white-space: nowrap; z-index: 1; }
    thead th { position: sticky; top: 0; background: #fafafa; z-index: 2; }
    thead th.rowhead { z-index: 3; }
    th.col { font: 10px ui-monospace, monospace; min-width: var(--cell); padding: 0 1px; cursor: pointer; color: #555; }
    th.col.failed { background: #c62828; color: #fff; }
    th.col.selc { outline: 2px solid #1565c0; }
    tr.expect td { height: 5px; }
    td.x-met, .sw.x-met { background: #a5d6a7; }
    td.x-failed, .sw.x-failed { background: #c62828; }
    tr.ghead th { text-align: left; font-size: 12px; background: #eceff1; padding: 1px 4px; position: sticky; left: 0; }
    tr.ghead button { border: 0; background: none; cursor: pointer; font-size: 12px; padding: 0 4px; }
    tbody.collapsed tr.page { display: none; }
    tr.page td { width: var(--cell); height: var(--cell); padding: 0; position: relative; cursor: pointer; }
    tr.page.selr th.rowhead { background: #bbdefb; }
    td.selc { box-shadow: inset 0 0 0 1px #1565c0; }
    td.gone { background: repeating-linear-gradient(45deg, #fff, #fff 2px, #eee 2px, #eee 4px); }
    .s-none { background: #f1f1f1; }
    .s-exclusive { background: #2e7d32; }
    .s-shared { background: #9ccc65; }
    .s-zero { background: #b0bec5; }
    .s-ksm { background: #8e24aa; }
    .s-file { background: #1e88e5; }
    .s-swap { background: #fb8c00; }
    .s-uffd-wp { background: #fdd835; }
    .s-guard { background: #37474f; }
    .s-poison { background: #e53935; }
    .s-pageout { background: #a1887f; }
    .m-wp::before { content: ""; position: absolute; left: 0; top: 0; border-style: solid; border-width: 6px 6px 0 0;
                    border-color: #fdd835 transparent transparent transparent; }
    .s-uffd-wp.m-wp::before { border-color: #6d4c41 transparent transparent transparent; }
    .m-sd::after { content: ""; position: absolute; right: 1px; bottom: 1px; width: 4px; height: 4px; border-radius: 2px; background: #000; }
    .d { outline: 2px solid #d50000; outline-offset: -2px; }
    td.hl { box-shadow: inset 0 0 0 3px #ff4081; }
    tr.lane td.step { background: #e3f2fd; font: 9px ui-monospace, monospace; padding: 0 2px; cursor: pointer; }
    tr.lane td.step.selc { background: #1565c0; color: #fff; }
    tr.lane th.rowhead { font-size: 10px; color: #1565c0; }
    .footer { font-size: 12px; margin: 4px 0; padding-left: 18px; }
    #side { flex: 0 0 320px; position: sticky; top: 8px; max-height: 90vh; overflow: auto; border: 1px solid #ddd;
            padding: 8px 10px; font-size: 13px; background: #fcfcfc; }
    #side h3 { font-size: 14px; margin: 0 0 6px; }
    #side code { display: block; white-space: pre-wrap; background: #eef; padding: 4px; margin: 4px 0; }
    #side ul { padding-left: 16px; margin: 4px 0; }
    #side .met { color: #2e7d32; }
    #side .failed { color: #c62828; font-weight: 600; }
    #side .hint { color: #777; }
    #legend ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 16px; }
    #legend li { display: flex; align-items: center; gap: 6px; font-size: 12px; }
    #legend.hidden { display: none; }
    .sw { display: inline-block; width: 14px; height: 14px; position: relative; border: 1px solid #ccc; }

    """

    static let script = """
    (function () {
      "use strict";
      var data = JSON.parse(document.getElementById("timeline-data").textContent);
      var side = document.getElementById("side");
      var panels = Array.prototype.slice.call(document.querySelectorAll("section.panel"));
      var sel = { p: 0, c: -1, r: -1 };
      function rowsOf(p) {
        return Array.prototype.slice.call(panels[p].querySelectorAll("tbody.group:not(.collapsed) tr.page"));
      }
      function el(tag, cls, text) {
        var e = document.createElement(tag);
        if (cls) e.className = cls;
        if (text !== undefined) e.textContent = text;
        return e;
      }
      function list(title, items, clsOf) {
        var frag = document.createDocumentFragment();
        if (!items.length) return frag;
        frag.appendChild(el("h4", "", title));
        var ul = el("ul");
        items.forEach(function (it, i) { ul.appendChild(el("li", clsOf ? clsOf(i) : "", it)); });
        frag.appendChild(ul);
        return frag;
      }
      function showSide() {
        side.textContent = "";
        var panel = data.panels[sel.p];
        if (!panel || sel.c < 0 || sel.c >= panel.columns.length) {
          side.appendChild(el("p", "hint", "Select a column (click, or \\u2190 \\u2192) to see its statement."));
          return;
        }
        var col = panel.columns[sel.c];
        var head = col.step ? "step " + col.step + (col.line ? ", line " + col.line : "") : "line " + col.line;
        side.appendChild(el("h3", "", panel.name + ": " + head));
        side.appendChild(el("code", "", col.text));
        var who = col.process + (col.thread ? ", thread " + col.thread : "");
        side.appendChild(el("p", "", "process " + who));
        side.appendChild(el("p", col.bad ? "failed" : "", (col.step ? "did: " : "result: ") + col.result));
        side.appendChild(list("observed", col.notes));
        side.appendChild(list("expectations", col.expectations.map(function (x) { return (x.met ? "met: " : "FAILED: ") + x.message; }),
                              function (i) { return col.expectations[i].met ? "met" : "failed"; }));
        side.appendChild(list("PTEs changed", col.pte));
        var rows = rowsOf(sel.p);
        if (sel.r >= 0 && sel.r < rows.length) {
          var td = rows[sel.r].querySelectorAll("td")[sel.c];
          if (td && td.title) side.appendChild(list("selected page", td.title.split("\\n")));
        }
      }
      function select(p, c, r) {
        document.querySelectorAll(".selc").forEach(function (e) { e.classList.remove("selc"); });
        document.querySelectorAll(".selr").forEach(function (e) { e.classList.remove("selr"); });
        sel.p = p; sel.c = c; sel.r = r;
        document.querySelectorAll('[data-c="' + c + '"]').forEach(function (e) {
          if (e.tagName === "TH" || e.closest("tr.page") || e.classList.contains("step")) e.classList.add("selc");
        });
        var rows = rowsOf(p);
        if (r >= 0 && r < rows.length) {
          rows[r].classList.add("selr");
          var td = rows[r].querySelectorAll("td")[c];
          if (td && td.scrollIntoView) td.scrollIntoView({ block: "nearest", inline: "nearest" });
        }
        showSide();
      }
      function columns(p) { return data.panels[p] ? data.panels[p].columns.length : 0; }
      document.addEventListener("click", function (ev) {
        var t = ev.target;
        if (t.classList && t.classList.contains("toggle")) {
          var body = t.closest("tbody");
          body.classList.toggle("collapsed");
          t.textContent = body.classList.contains("collapsed") ? "\\u25b8" : "\\u25be";
          t.setAttribute("aria-expanded", body.classList.contains("collapsed") ? "false" : "true");
          return;
        }
        var cell = t.closest ? t.closest("[data-c]") : null;
        if (!cell) return;
        var p = Number(cell.getAttribute("data-p") || 0), c = Number(cell.getAttribute("data-c"));
        var tr = cell.closest("tr.page"), r = tr ? rowsOf(p).indexOf(tr) : sel.r;
        select(p, c, r);
      });
      document.addEventListener("mouseover", function (ev) {
        var k = ev.target.getAttribute && ev.target.getAttribute("data-k");
        if (!k) return;
        var p = ev.target.getAttribute("data-p");
        document.querySelectorAll('td[data-p="' + p + '"][data-k="' + k + '"]').forEach(function (e) { e.classList.add("hl"); });
      });
      document.addEventListener("mouseout", function (ev) {
        if (!ev.target.getAttribute || !ev.target.getAttribute("data-k")) return;
        document.querySelectorAll("td.hl").forEach(function (e) { e.classList.remove("hl"); });
      });
      document.addEventListener("keydown", function (ev) {
        if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
        var n = columns(sel.p), rows = rowsOf(sel.p), c = sel.c, r = sel.r;
        switch (ev.key) {
          case "ArrowRight": c = Math.min(n - 1, c + 1); break;
          case "ArrowLeft": c = Math.max(0, c - 1); break;
          case "ArrowDown": r = Math.min(rows.length - 1, r + 1); if (c < 0) c = 0; break;
          case "ArrowUp": r = Math.max(0, r - 1); if (c < 0) c = 0; break;
          case "Home": c = 0; break;
          case "End": c = n - 1; break;
          case "Enter": {
            if (r >= 0 && r < rows.length) {
              var b = rows[r].closest("tbody").querySelector("button.toggle");
              if (b) b.click();
            }
            return;
          }
          case "p": select((sel.p + 1) % panels.length, Math.min(Math.max(c, 0), columns((sel.p + 1) % panels.length) - 1), -1); ev.preventDefault(); return;
          case "l": document.getElementById("legend").classList.toggle("hidden"); return;
          default: return;
        }
        ev.preventDefault();
        if (n > 0) select(sel.p, Math.max(0, c), r);
      });
      if (columns(0) > 0) {
        var firstFailed = data.panels[0].columns.findIndex(function (col) { return col.expectations.some(function (x) { return !x.met; }); });
        select(0, firstFailed >= 0 ? firstFailed : 0, -1);
      }
    })();

    """
}
