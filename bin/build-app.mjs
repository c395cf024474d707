// Compiles bin/app.ts and lib/ into one JavaScript file (.build/app.js) that `cdk synth` runs with plain node: no
// TypeScript transpiling at every synth. cdk.json's `build` runs this before each synth (about 0.1 s); packages stay in
// node_modules (aws-cdk-lib reads its own files next to its modules).
import * as esbuild from 'esbuild';
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const OUT_DIR = path.join(ROOT, '.build');

// In one bundle every module would see the bundle's folder as `__dirname`; lib/ finds scripts, the Lambda entry and the
// web app relative to its own files, so each source file gets its own folder back (relative to the bundle).
const ownDirname = {
  name: 'own-dirname',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('__dirname')) return undefined;
      const relative = path.relative(OUT_DIR, path.dirname(args.path)).split(path.sep).join('/');
      return {
        contents: source.replace(/\b__dirname\b/g, `require('path').join(__dirname, ${JSON.stringify(relative)})`),
        loader: 'ts',
      };
    });
  },
};

const result = await esbuild.build({
  entryPoints: [path.join(ROOT, 'bin', 'app.ts')],
  outfile: path.join(OUT_DIR, 'app.js'),
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [ownDirname],
  write: false,
});

// Written next to the target, then renamed: an app starting at the same moment (tests build and run in parallel
// workers) reads the old bundle or the new one, never half a file.
await mkdir(OUT_DIR, { recursive: true });
for (const file of result.outputFiles) {
  const temporary = `${file.path}.${process.pid}.tmp`;
  await writeFile(temporary, file.contents);
  await rename(temporary, file.path);
}
