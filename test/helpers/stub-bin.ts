import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Writes a stub command into `dir`: it appends `<name> <args>` to the file named by `$STUB_CALLS`, then runs `body`.
 */
export function stub(dir: string, name: string, body: string): void {
  fs.writeFileSync(path.join(dir, name), `#!/bin/bash\necho "${name} $*" >> "$STUB_CALLS"\n${body}\n`, { mode: 0o755 });
}

/**
 * Creates `<root>/stub-bin`, a folder to put alone on a host script's PATH: it links the real `tools` the script may
 * use as they are (and python3), so every other command must be a stub the test writes with {@link stub}.
 */
export function makeStubBin(root: string, tools: readonly string[]): string {
  const bin = path.join(root, 'stub-bin');
  fs.mkdirSync(bin);
  for (const tool of tools) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    fs.symlinkSync(found, path.join(bin, tool));
  }
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  fs.symlinkSync(python, path.join(bin, 'python3'));
  return bin;
}

/**
 * Stubs `curl` as the instance metadata service (IMDSv2) answers the host scripts: a token, then the value of each
 * metadata path given (`'placement/region': 'eu-west-1'`); any other URL fails as curl does on an HTTP error (22).
 */
export function stubInstanceMetadata(dir: string, values: Readonly<Record<string, string>>): void {
  stub(
    dir,
    'curl',
    [
      'case "$*" in',
      '  *api/token*) echo token ;;',
      ...Object.entries(values).map(([metadataPath, value]) => `  *${metadataPath}*) echo ${value} ;;`),
      '  *) exit 22 ;;',
      'esac',
    ].join('\n'),
  );
}
