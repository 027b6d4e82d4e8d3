// Tiny inline SVG charts, drawn here rather than with a chart library: a bar chart of labelled
// values. Each chart is an <svg role="img"> with a <title> and an aria-label, and the caller shows the
// same figures in a table beside it (the fallback a screen reader or a spreadsheet user reads).
const SVG = "http://www.w3.org/2000/svg";

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export interface Bar { label: string; value: number }

/** Vertical bars, one per label, scaled to the largest value; each bar has its own <title> (a tooltip). */
export function barChart(title: string, bars: Bar[], unit = ""): SVGSVGElement {
  const width = 560;
  const height = 200;
  const pad = { top: 16, right: 8, bottom: 34, left: 56 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(0, ...bars.map((b) => b.value)) || 1;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart" });
  svg.append(s("title", {}, title));
  // The axis: zero and the largest value.
  for (const [v, y] of [[0, pad.top + plotH], [max, pad.top]] as [number, number][]) {
    svg.append(s("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: "grid" }),
      s("text", { x: pad.left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, fmt(v)));
  }
  const slot = plotW / Math.max(bars.length, 1);
  const barW = Math.max(2, Math.min(48, slot * 0.7));
  const every = Math.ceil(bars.length / 12); // at most 12 labels under the axis
  bars.forEach((b, i) => {
    const h = (Math.max(b.value, 0) / max) * plotH;
    const x = pad.left + i * slot + (slot - barW) / 2;
    const rect = s("rect", { x, y: pad.top + plotH - h, width: barW, height: h, class: "bar" });
    rect.append(s("title", {}, `${b.label}: ${fmt(b.value)}${unit ? ` ${unit}` : ""}`));
    svg.append(rect);
    if (i % every === 0) {
      svg.append(s("text", { x: x + barW / 2, y: height - pad.bottom + 16, "text-anchor": "middle", class: "tick" },
        /^\d{4}-\d\d-\d\d$/.test(b.label) ? b.label.slice(5) : b.label)); // a day 2026-03-02 shows as 03-02
    }
  });
  if (!bars.length) svg.append(s("text", { x: width / 2, y: pad.top + plotH / 2, "text-anchor": "middle", class: "tick" }, "no data"));
  return svg;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
