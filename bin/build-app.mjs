// Compiles bin/app.ts and lib/ into one JavaScript file (.build/app.js) that `cdk synth` runs with plain node: no
// TypeScript transpiling at every synth. cdk.json's `build` runs this before each synth (about 0.1 s); packages stay in
// node_modules (aws-cdk-lib reads its own files next to its modules).
import * as esbuild from 'esbuild';
import { readFile } from 'node:fs/promises';
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

await esbuild.build({
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
});
