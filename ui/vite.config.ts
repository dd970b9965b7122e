import { defineConfig } from "vitest/config";

// The app is served from files by Tauri: relative asset paths, no dev server
// needed for a build, and no inline scripts (the CSP forbids them).
export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "safari15", modulePreload: { polyfill: false } },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    setupFiles: ["src/test/setup.ts"],
  },
});
