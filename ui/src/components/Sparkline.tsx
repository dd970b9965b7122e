// A small line chart as inline SVG: no chart library, no canvas, CSP-safe.
// Memoised: give it the same `points` array and it does not draw again.
import { memo, useMemo } from "react";

const WIDTH = 280;
const HEIGHT = 60;

export function sparkPath(points: readonly [number, number][]): string {
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y1 = Math.max(...ys, 1e-9);
  return points
    .map(([x, y], i) => {
      const px = x1 === x0 ? 0 : ((x - x0) / (x1 - x0)) * WIDTH;
      const py = HEIGHT - (y / y1) * (HEIGHT - 4) - 2;
      return `${i === 0 ? "M" : "L"}${px.toFixed(1)},${py.toFixed(1)}`;
    })
    .join(" ");
}

export const Sparkline = memo(function Sparkline({ points, label }: { points: [number, number][]; label: string }) {
  const path = useMemo(() => (points.length < 2 ? "" : sparkPath(points)), [points]);
  if (points.length < 2) return null;
  return (
    <svg className="sparkline" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label}>
      <path d={path} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
});
