import { defineConfig } from "vite";

// The build is committed (web/dist) and embedded in `civil` (crate web): keep it reproducible.
// `npm run dev` proxies the API to a `civil serve` on the default port.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      "^/civil\\.": "http://127.0.0.1:50051",
    },
  },
});
