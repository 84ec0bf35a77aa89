// The report's charts: vega-lite specifications compiled and rendered to SVG by vega when the report
// is built, so the page needs no script, no network and nothing installed to show them. Text from
// the logs (user and namespace names) goes in as data values, which vega escapes in the SVG it writes.
import * as vega from 'vega';
import { type TopLevelSpec, compile } from 'vega-lite';

export const COLORS = { deny: '#c2362b', neutral: '#8a94a6', ok: '#2f7d4f' } as const;
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: 'normal', labelColor: '#333', titleColor: '#555', gridColor: '#eceef2', domainColor: '#aab' },
} as const;

async function svgOf(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile({ ...spec, config: CONFIG }).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface Bar { readonly label: string; readonly count: number }

/** Horizontal bars, largest first, labels on the left (cut with an ellipsis when too long). */
export function barChart(bars: readonly Bar[], options: { readonly axisTitle: string; readonly color?: string; readonly width?: number; readonly labelLimit?: number }): Promise<string> {
  return svgOf({
    width: options.width ?? 280,
    height: { step: 22 },
    data: { values: bars.map((b, order) => ({ label: b.label, count: b.count, order })) },
    mark: { type: 'bar', color: options.color ?? COLORS.deny, cornerRadiusEnd: 2 },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: { field: 'order', order: 'ascending' }, title: null, axis: { labelLimit: options.labelLimit ?? 260, ticks: false } },
      x: { field: 'count', type: 'quantitative', title: options.axisTitle, axis: { tickMinStep: 1, format: 'd' } },
    },
  });
}

export interface TimePoint { readonly start: number; readonly count: number }

/** Counts per time bucket as bars on a UTC time axis. */
export function timeChart(points: readonly TimePoint[], options: { readonly bucketMs: number; readonly axisTitle: string; readonly color?: string }): Promise<string> {
  return svgOf({
    width: 1000,
    height: 180,
    // The description (each bar's aria-label) is written here: vega would write the bar's end in the local time zone.
    data: { values: points.map((p) => ({ start: p.start, end: p.start + options.bucketMs, count: p.count, description: `${utcMinute(p.start)} UTC: ${p.count}` })) },
    mark: { type: 'rect', color: options.color ?? COLORS.deny },
    encoding: {
      x: { field: 'start', type: 'temporal', scale: { type: 'utc' }, title: 'time (UTC)', axis: { labelFontSize: 11, format: options.bucketMs >= 86_400_000 ? '%b %d' : '%b %d %H:%M' } },
      x2: { field: 'end' },
      y: { field: 'count', type: 'quantitative', title: options.axisTitle, axis: { tickMinStep: 1, format: 'd' } },
      description: { field: 'description' },
    },
  });
}

const utcMinute = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
