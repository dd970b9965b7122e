// A small line chart as inline SVG: no chart library, no canvas, CSP-safe.
export function Sparkline({ points, label }: { points: [number, number][]; label: string }) {
  const width = 280;
  const height = 60;
  if (points.length < 2) return null;
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y1 = Math.max(...ys, 1e-9);
  const path = points
    .map(([x, y], i) => {
      const px = x1 === x0 ? 0 : ((x - x0) / (x1 - x0)) * width;
      const py = height - (y / y1) * (height - 4) - 2;
      return `${i === 0 ? "M" : "L"}${px.toFixed(1)},${py.toFixed(1)}`;
    })
    .join(" ");
  return (
    <svg className="sparkline" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <path d={path} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}
