import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseSettings, readContextFiles, typoNotices } from '../bin/settings';

/*
 * The context files the CDK CLI merges, read the way bin/app.ts reads them: a file that is missing, is not JSON or holds
 * JSON of another shape counts as empty, so a stray `null` in cdk.context.json never turns into a stack trace.
 */

let project: string;
let home: string;

beforeEach(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'settings-sources-project-'));
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'settings-sources-home-'));
});

afterEach(() => {
  fs.rmSync(project, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

function write(dir: string, file: string, text: string): void {
  fs.writeFileSync(path.join(dir, file), text);
}

describe('readContextFiles', () => {
  test("GIVEN ~/.cdk.json with a context THEN it is read, last in the CLI's precedence", () => {
    write(home, '.cdk.json', JSON.stringify({ context: { natGateways: 1 } }));
    expect(readContextFiles(project, home)).toEqual([
      { name: 'cdk.json', context: {} },
      { name: 'cdk.context.json', context: {} },
      { name: '~/.cdk.json', context: { natGateways: 1 } },
    ]);
  });

  test.each(['null', '42', '"fargate"', 'true'])(
    'GIVEN cdk.context.json holding %s THEN its context is empty',
    (text) => {
      write(project, 'cdk.context.json', text);
      expect(readContextFiles(project, home)[1]).toEqual({ name: 'cdk.context.json', context: {} });
    },
  );

  test.each(['null', '{"context":null}', '{"context":"fargate"}', '{"context":7}', '[]'])(
    'GIVEN cdk.json and ~/.cdk.json holding %s THEN their context is empty and settings still parse',
    (text) => {
      write(project, 'cdk.json', text);
      write(home, '.cdk.json', text);
      const files = readContextFiles(project, home);
      expect(files.map((file) => file.context)).toEqual([{}, {}, {}]);
      expect(parseSettings({ env: {}, context: {}, contextFiles: files }).natGateways).toBe(1);
    },
  );

  test('GIVEN a value from ~/.cdk.json THEN a message names that file', () => {
    write(home, '.cdk.json', JSON.stringify({ context: { natGateways: 5 } }));
    const contextFiles = readContextFiles(project, home);
    expect(() => parseSettings({ env: {}, context: { natGateways: 5 }, contextFiles })).toThrow(
      'Invalid setting natGateways="5" in ~/.cdk.json: expected a whole number from 1 to 2.',
    );
  });
});

describe('environment variables taken for a misspelt setting', () => {
  test('GIVEN a name two edits from a setting THEN a notice names the setting', () => {
    expect(typoNotices({ FRAGATE: '1' })).toEqual([
      'Notice: environment variable FRAGATE is not a setting and is ignored: did you mean FARGATE?',
    ]);
  });

  test('GIVEN a name three edits from every setting THEN no notice', () => {
    expect(typoNotices({ FRAGATEX: '1' })).toEqual([]);
  });
});

describe('environment variables: blank values and case-insensitive environments', () => {
  test('GIVEN a look-alike set to blanks or to nothing THEN no notice (it would change nothing)', () => {
    expect(typoNotices({ FARGTE: '  ', DEPLOYAPP: undefined })).toEqual([]);
  });

  test('GIVEN a misspelt name in lowercase on Windows THEN the notice still comes', () => {
    // Node's process.env on Windows: lookups ignore case, keys keep the case they were set with.
    const values: Record<string, string> = { fargte: '1' };
    const env = new Proxy(values, {
      get: (target, key) =>
        typeof key === 'string'
          ? Object.entries(target).find(([name]) => name.toUpperCase() === key.toUpperCase())?.[1]
          : undefined,
    });
    expect(typoNotices(env)).toEqual([
      'Notice: environment variable fargte is not a setting and is ignored: did you mean FARGATE?',
    ]);
  });
});
