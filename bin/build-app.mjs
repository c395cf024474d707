// Compiles the two programs of this repository into JavaScript that plain node runs, with no TypeScript transpiling at
// each start: bin/app.ts and lib/ into .build/app.js (cdk.json's `build` runs this before each synth, about 0.1 s; its
// `app` runs the result) and verify/cli.ts into .build/verify.js (`npm run verify`; tsx took about 1.2 s to start it,
// node takes 0.05 s). Packages stay in node_modules (aws-cdk-lib reads its own files next to its modules).
import * as esbuild from 'esbuild';
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const OUT_DIR = path.join(ROOT, '.build');

// In one bundle every module would see the bundle's folder as `__dirname`; lib/ finds scripts, the Lambda entry and the
// web app relative to its own files (and verify/ finds cdk.json), so each source file gets its own folder back (relative
// to the bundle).
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
  entryPoints: {
    app: path.join(ROOT, 'bin', 'app.ts'),
    verify: path.join(ROOT, 'verify', 'cli.ts'),
    integ: path.join(ROOT, 'test', 'integ', 'run', 'cli.ts'),
  },
  outdir: OUT_DIR,
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
