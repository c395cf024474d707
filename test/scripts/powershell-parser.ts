import { spawnSync } from 'child_process';
import * as path from 'path';

/** A syntax problem tree-sitter found: an ERROR node, or a MISSING node the parser inserted to recover. */
export interface PowerShellProblem {
  readonly kind: string;
  readonly line: number;
  readonly column: number;
  readonly text: string;
}

/** What the tree-sitter PowerShell grammar made of one source. */
export interface PowerShellParseResult {
  readonly name: string;
  readonly hasError: boolean;
  readonly problems: PowerShellProblem[];
  /** Attributes of the script's `param()` block, e.g. `[CmdletBinding(SupportsShouldProcess)]`. */
  readonly scriptAttributes: string[];
  /** The script's parameters (no `$`) with their attributes as written, e.g. `[ValidateSet('A', 'B')]`, `[string]`. */
  readonly parameters: { readonly name: string; readonly attributes: string[] }[];
  /** Comments before the `param()` block (where comment-based help must be for `Get-Help`). */
  readonly leadingComments: string[];
}

const HELPER = path.join(__dirname, 'powershell-parse.mjs');

/**
 * Parses PowerShell sources with tree-sitter-powershell in one child process: the grammar package is ESM with top-level
 * await, which jest's CommonJS runtime cannot `import()`.
 */
export function parsePowerShell(sources: { name: string; text: string }[]): PowerShellParseResult[] {
  const result = spawnSync(process.execPath, ['--no-deprecation', HELPER], {
    input: JSON.stringify(sources),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  if (result.status !== 0) {
    throw new Error(`${HELPER} exited with ${result.status ?? result.signal}: ${result.stderr || result.error}`);
  }
  return JSON.parse(result.stdout) as PowerShellParseResult[];
}
