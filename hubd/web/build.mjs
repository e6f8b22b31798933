// Bundles the dashboard into dist/: index.html, app.js, app.css, and a
// gzip-compressed copy of each (name.gz) that the Go handler serves as is.
// index.html refers to app.js and app.css with ?v=<content hash>, the same
// hash the Go handler computes, so those two can be cached for good.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';

const out = 'dist';
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await esbuild.build({
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  outdir: out,
  legalComments: 'eof',
  logLevel: 'warning',
});
const hash = (b) => createHash('sha256').update(b).digest('hex').slice(0, 16);
let html = await readFile('src/index.html', 'utf8');
for (const f of ['app.js', 'app.css']) {
  const b = await readFile(`${out}/${f}`);
  html = html.replace(`"${f}"`, `"${f}?v=${hash(b)}"`);
}
await writeFile(`${out}/index.html`, html);
// Compressed once here, so that the hub does not compress at start.
for (const f of ['index.html', 'app.js', 'app.css']) {
  const b = await readFile(`${out}/${f}`);
  const gz = gzipSync(b, { level: 9 });
  await writeFile(`${out}/${f}.gz`, gz);
  console.log(`${out}/${f}  ${(b.length / 1024).toFixed(1)} KiB  (${(gz.length / 1024).toFixed(1)} KiB gzip)`);
}
