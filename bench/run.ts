/**
 * `npm run bench [-- name ...]`: runs every bench/<name>.bench.ts (or only the named ones) in
 * sequence. Each benchmark prints its own table, comparing vigil against a reference measured in
 * the same run, as ratios.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();
if (benches.length === 0) {
  console.error(`No benchmark matched ${wanted.join(', ')}`);
  process.exit(2);
}
for (const name of benches) {
  console.log(`\n=== bench/${name} ===`);
  const mod = (await import(pathToFileURL(join(dir, `${name}.bench.ts`)).href)) as { run: () => Promise<void> };
  await mod.run();
}
