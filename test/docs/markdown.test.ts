import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * The README and docs/ as GitHub renders them and as a reader runs them: every table row belongs to a table, every
 * relative link reaches a file and heading that exist, every Bash and PowerShell block parses in its shell, and the
 * README stays a page a newcomer reads in five minutes.
 */
const ROOT = path.join(__dirname, '..', '..');
const DOCS = fs
  .readdirSync(path.join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`);
const PAGES = ['README.md', ...DOCS];

interface Line {
  readonly text: string;
  readonly number: number;
  readonly inCode: boolean;
}

function linesOf(page: string): Line[] {
  let inCode = false;
  return fs
    .readFileSync(path.join(ROOT, page), 'utf8')
    .split('\n')
    .map((text, i) => {
      const fence = /^\s*```/.test(text);
      const line = { text, number: i + 1, inCode: inCode || fence };
      if (fence) inCode = !inCode;
      return line;
    });
}

/** The code blocks of a page with their language. */
function codeBlocks(page: string): Array<{ language: string; code: string; line: number }> {
  const blocks: Array<{ language: string; code: string; line: number }> = [];
  const text = fs.readFileSync(path.join(ROOT, page), 'utf8');
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let match = fence.exec(text); match; match = fence.exec(text)) {
    blocks.push({ language: match[1], code: match[2], line: text.slice(0, match.index).split('\n').length });
  }
  return blocks;
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(page: string): Set<string> {
  return new Set(
    linesOf(page)
      .filter((l) => !l.inCode && /^#{1,6}\s/.test(l.text))
      .map((l) => githubSlug(l.text.replace(/^#+\s*/, ''))),
  );
}

/**
 * Table rows GitHub would render as text: a row that neither continues a table nor starts one (a header followed by a
 * `|---|` separator, after a blank line).
 */
function rowsOutsideTables(page: string, lines: Line[]): string[] {
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.inCode || !line.text.startsWith('|')) continue;
    const previous = lines[i - 1];
    if (previous !== undefined && previous.text.startsWith('|') && !previous.inCode) continue; // a continued table
    const separator = lines[i + 1]?.text ?? '';
    const startsTable =
      /^\|(\s*:?-{3,}:?\s*\|)+\s*$/.test(separator) && (previous === undefined || previous.text === '');
    if (!startsTable) problems.push(`${page}:${line.number}: a table row outside a table: ${line.text.slice(0, 60)}`);
  }
  return problems;
}

describe.each(PAGES)('%s', (page) => {
  test('every table row is inside a table (header, separator, rows, after a blank line)', () => {
    expect(rowsOutsideTables(page, linesOf(page))).toEqual([]);
  });

  test('every relative link reaches a file, and its #anchor a heading of that file', () => {
    const problems: string[] = [];
    for (const line of linesOf(page).filter((l) => !l.inCode)) {
      for (const match of line.text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1];
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const [file, anchor] = target.split('#');
        const targetPage = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
        if (!fs.existsSync(path.join(ROOT, targetPage))) {
          problems.push(`${page}:${line.number}: ${target}: no file ${targetPage}`);
          continue;
        }
        if (anchor !== undefined && targetPage.endsWith('.md') && !anchorsOf(targetPage).has(anchor))
          problems.push(`${page}:${line.number}: ${target}: no heading #${anchor} in ${targetPage}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('every bash block passes bash -n', () => {
    for (const block of codeBlocks(page).filter((b) => b.language === 'bash')) {
      const result = spawnSync('bash', ['-n'], { input: block.code, encoding: 'utf8', timeout: 10_000 });
      expect({ at: `${page}:${block.line}`, status: result.status, stderr: result.stderr }).toEqual({
        at: `${page}:${block.line}`,
        status: 0,
        stderr: '',
      });
    }
  });

  test('every command names the deployment through SOLUTION_ID, not its default value', () => {
    const hardCoded = codeBlocks(page)
      .filter((b) => b.language === 'bash' || b.language === 'powershell')
      .flatMap((b) => b.code.split('\n').map((text, i) => ({ text, at: `${page}:${b.line + i + 1}` })))
      .filter(({ text }) => text.includes('amazon-ecs-gmsa-linux') && !/SOLUTION_ID\s*=/.test(text));
    expect(hardCoded).toEqual([]);
  });
});

test("every PowerShell block of the README and docs/ parses with PowerShell's own parser", () => {
  const blocks = PAGES.flatMap((page) =>
    codeBlocks(page)
      .filter((b) => b.language === 'powershell')
      .map((b) => ({ name: `${page}:${b.line}`, text: b.code })),
  );
  expect(blocks.length).toBeGreaterThan(3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-docs-'));
  try {
    const file = path.join(dir, 'blocks.json');
    fs.writeFileSync(file, JSON.stringify(blocks));
    // pwsh is the repository's .NET local tool (dotnet tool restore); CI restores it before npm test.
    const result = spawnSync(
      'dotnet',
      [
        'tool',
        'run',
        'pwsh',
        '-NoProfile',
        '-NonInteractive',
        '-File',
        path.join(__dirname, 'parse-powershell-blocks.ps1'),
        file,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 90_000 },
    );
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the README is a short page: under 200 lines, with quick start, modes, check, cost and clean up', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  expect(readme.split('\n').length).toBeLessThan(200);
  for (const heading of [
    '## Quick start',
    '## Modes',
    '## Check it',
    '## Time and cost',
    '## Clean up',
    '## What you need',
  ])
    expect(readme).toContain(`\n${heading}\n`);
});

test("fails on a table row outside a table: the README's old fault, a paragraph between the rows of one table", () => {
  const text = '| a | b |\n|---|---|\n| 1 | 2 |\nA paragraph.\n\n| 3 | 4 |\n';
  const lines = text.split('\n').map((t, i) => ({ text: t, number: i + 1, inCode: false }));
  expect(rowsOutsideTables('x.md', lines)).toEqual(['x.md:6: a table row outside a table: | 3 | 4 |']);
});
