// The operator console: plain TypeScript, built by Vite into dashboard/dist (not committed).
// Relative asset paths, so the same build is served at /dashboard/ by the local runtime and at the
// root of the CloudFront distribution.
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2020" },
});
