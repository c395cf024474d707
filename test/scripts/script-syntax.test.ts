import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parsePowerShell, PowerShellParseResult } from './powershell-parser';

// Every script under scripts/ (any depth) is checked: PowerShell with a real PowerShell grammar (tree-sitter-powershell),
// shell with `bash -n` and shellcheck. The harness checks come first, so that a broken harness cannot pass silently.

const ROOT = path.join(__dirname, '..', '..');
const SCRIPTS_DIR = path.join(ROOT, 'scripts');

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)]))
    .sort();
}

const ALL_SCRIPTS = listFiles(SCRIPTS_DIR).map((file) => path.relative(ROOT, file));
const POWERSHELL_SCRIPTS = ALL_SCRIPTS.filter((file) => /\.psm?1$/i.test(file));
const SHELL_SCRIPTS = ALL_SCRIPTS.filter((file) => /\.sh$/.test(file));

function commandPath(name: string): string | undefined {
  const result = spawnSync('bash', ['-c', 'command -v "$1"', 'command-path', name], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

const BASH = commandPath('bash') ?? '/bin/bash';
const SHELLCHECK = commandPath('shellcheck');
// CI installs shellcheck (.ci/run): there, a missing shellcheck fails the tests instead of skipping them.
const IN_CI = /^(true|1)$/i.test(process.env.CI ?? '');
const RUN_SHELLCHECK = SHELLCHECK !== undefined || IN_CI;
if (!RUN_SHELLCHECK) {
  console.warn(
    'shellcheck is not installed: skipping the shellcheck tests (CI installs it; locally: apt-get install shellcheck)',
  );
}

function shellcheck(args: string[], input?: string) {
  if (SHELLCHECK === undefined) {
    throw new Error('shellcheck is not installed, and CI requires it: .ci/run installs it with apt-get');
  }
  return spawnSync(SHELLCHECK, args, { cwd: ROOT, encoding: 'utf8', input, timeout: 60_000 });
}

/** A well-formed PowerShell snippet using the constructs the scripts use. */
const GOOD_POWERSHELL = `<#
.SYNOPSIS
    Harness check.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)] [ValidateSet('A', 'B')] [string] $Name,
    [switch] $Force
)
$ErrorActionPreference = 'Stop'
$settings = @{ Name = $Name; Tags = @('x', 'y') }
$text = @"
Hello $($settings.Name)
"@
try {
    Get-Item -Path "C:\\Temp\\\${Name}.txt" @settings | ForEach-Object { $_.Length } | Out-Null
}
catch {
    throw "failed: $($_.Exception.Message)"
}
finally {
    Write-Verbose 'done'
}
`;

describe('the PowerShell syntax harness', () => {
  let results: PowerShellParseResult[];

  beforeAll(() => {
    // GIVEN a clean snippet, snippets with planted syntax errors, and a real script with its last brace removed
    const migration = fs.readFileSync(path.join(SCRIPTS_DIR, 'Update-ECSTaskDefinitionCredSpec.ps1'), 'utf8');
    const lastBrace = migration.lastIndexOf('}');
    // WHEN the grammar parses them
    results = parsePowerShell([
      { name: 'good', text: GOOD_POWERSHELL },
      { name: 'unclosed-condition', text: 'if ($x { ' },
      { name: 'unclosed-function', text: 'function Get-X {\n    if ($true) { 1\n}\n' },
      { name: 'unterminated-hashtable', text: '$h = @{ a = 1\n' },
      { name: 'real-script-missing-brace', text: migration.slice(0, lastBrace) + migration.slice(lastBrace + 1) },
    ]);
  });

  test('parses a well-formed snippet with no ERROR or MISSING node, and reads its parameters', () => {
    // THEN
    const good = results.find((r) => r.name === 'good')!;
    expect(good.problems).toEqual([]);
    expect(good.hasError).toBe(false);
    expect(good.scriptAttributes).toEqual(['[CmdletBinding(SupportsShouldProcess)]']);
    expect(good.parameters.map((p) => p.name)).toEqual(['Name', 'Force']);
    expect(good.leadingComments[0]).toContain('.SYNOPSIS');
  });

  test.each(['unclosed-condition', 'unclosed-function', 'unterminated-hashtable', 'real-script-missing-brace'])(
    'reports the planted syntax error in %s',
    (name) => {
      // THEN
      const broken = results.find((r) => r.name === name)!;
      expect(broken.hasError).toBe(true);
      expect(broken.problems.length).toBeGreaterThan(0);
    },
  );
});

describe('the shell syntax harness', () => {
  test('bash -n rejects a planted syntax error and accepts a good script', () => {
    // GIVEN / WHEN
    const broken = spawnSync(BASH, ['-n'], { input: 'if true; then\n  echo "x"\n', encoding: 'utf8' });
    const good = spawnSync(BASH, ['-n'], { input: 'if true; then\n  echo "x"\nfi\n', encoding: 'utf8' });
    // THEN
    expect(broken.status).not.toBe(0);
    expect(broken.stderr).toMatch(/syntax error/);
    expect(good.status).toBe(0);
  });

  (RUN_SHELLCHECK ? test : test.skip)('shellcheck reports a planted finding and passes a clean script', () => {
    // GIVEN / WHEN an unquoted expansion (SC2086) and its fixed form
    const flagged = shellcheck(['--shell=bash', '--format=gcc', '-'], '#!/usr/bin/env bash\necho $1\n');
    const clean = shellcheck(['--shell=bash', '--format=gcc', '-'], '#!/usr/bin/env bash\necho "$1"\n');
    // THEN
    expect(flagged.status).not.toBe(0);
    expect(flagged.stdout).toContain('SC2086');
    expect(clean.stdout).toBe('');
    expect(clean.status).toBe(0);
  });
});

describe('scripts/', () => {
  test('discovery finds the PowerShell and shell scripts, in subfolders too', () => {
    // THEN the migration scripts at least are found (other scripts are checked as they appear)
    expect(POWERSHELL_SCRIPTS).toContain(path.join('scripts', 'Update-ECSTaskDefinitionCredSpec.ps1'));
    expect(SHELL_SCRIPTS).toContain(path.join('scripts', 'update-ecs-task-definition-cred-spec.sh'));
    expect(listFiles(path.join(__dirname, 'fixtures')).length).toBeGreaterThan(0);
  });

  describe('PowerShell', () => {
    let results: Map<string, PowerShellParseResult>;

    beforeAll(() => {
      // WHEN every .ps1/.psm1 is parsed
      const parsed = parsePowerShell(
        POWERSHELL_SCRIPTS.map((file) => ({ name: file, text: fs.readFileSync(path.join(ROOT, file), 'utf8') })),
      );
      results = new Map(parsed.map((r) => [r.name, r]));
    });

    test.each(POWERSHELL_SCRIPTS)('%s parses with no ERROR or MISSING node', (file) => {
      // THEN (a failure lists each problem's line, column and text)
      const result = results.get(file)!;
      expect({ file, problems: result.problems }).toEqual({ file, problems: [] });
      expect(result.hasError).toBe(false);
    });
  });

  describe('shell', () => {
    test.each(SHELL_SCRIPTS)('%s passes bash -n', (file) => {
      // WHEN
      const result = spawnSync(BASH, ['-n', file], { cwd: ROOT, encoding: 'utf8' });
      // THEN
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    });

    (RUN_SHELLCHECK ? test.each(SHELL_SCRIPTS) : test.skip.each(SHELL_SCRIPTS))('%s passes shellcheck', (file) => {
      // WHEN (sourced files are followed relative to the script)
      const result = shellcheck(['--external-sources', '--source-path=SCRIPTDIR', '--format=gcc', file]);
      // THEN
      expect(result.stdout).toBe('');
      expect(result.status).toBe(0);
    });
  });
});
