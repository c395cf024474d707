// Lets plain node run the integration tests' TypeScript (integ-runner starts each test with `node -r <this> <file>`):
// esbuild strips the types of each file as Jest's transformer does; `npm run build` type-checks them.
'use strict';

const fs = require('node:fs');
const esbuild = require('esbuild');

require.extensions['.ts'] = (module, filename) => {
  const { code } = esbuild.transformSync(fs.readFileSync(filename, 'utf8'), {
    loader: 'ts',
    format: 'cjs',
    target: 'node20',
    sourcefile: filename,
  });
  module._compile(code, filename);
};
