import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parsePowerShell, PowerShellParseResult } from './powershell-parser';

// The Bash migration script runs against a fake `aws` executable (answers describe-task-definition from a fixture,
// records the register-task-definition input) with a PATH that holds nothing but that fake and jq: this also proves the
// script needs nothing else. PowerShell can't run here: its script is checked on its parse tree and help text.

const ROOT = path.join(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'update-ecs-task-definition-cred-spec.sh');
const PS_SCRIPT = path.join(ROOT, 'scripts', 'Update-ECSTaskDefinitionCredSpec.ps1');
const PROG = 'update-ecs-task-definition-cred-spec.sh';

const SSM_CREDSPEC = 'arn:aws:ssm:us-east-1:111111111111:parameter/gmsa-linux-ecs/credspec';
const S3_CREDSPEC = 'arn:aws:s3:::gmsa-credspecs-111111111111/credspecs/SampleWebApp.json';
const SOURCE_ARN = 'arn:aws:ecs:us-east-1:111111111111:task-definition/sample-web-app:3';
const NEW_ARN = 'arn:aws:ecs:us-east-1:111111111111:task-definition/sample-web-app:4';
const READ_ONLY_FIELDS = [
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function commandPath(name: string): string {
  const result = spawnSync('bash', ['-c', 'command -v "$1"', 'command-path', name], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${name} is not installed: the migration tests need it (CI has it)`);
  }
  return result.stdout.trim();
}

const BASH = commandPath('bash');
const JQ = commandPath('jq');

function fakeAws(): string {
  return `#!${BASH}
# Fake AWS CLI: logs each call, answers from files in $FAKE_AWS_DIR.
printf '%s\\n' "$*" >> "$FAKE_AWS_DIR/calls.log"
case "$1 $2" in
  "ecs describe-task-definition")
    if [[ -f "$FAKE_AWS_DIR/describe-error.txt" ]]; then
      printf '%s\\n' "$(<"$FAKE_AWS_DIR/describe-error.txt")" >&2
      exit 254
    fi
    printf '%s\\n' "$(<"$FAKE_AWS_DIR/describe.json")"
    ;;
  "ecs register-task-definition")
    shift 2
    while [[ $# -gt 0 ]]; do
      if [[ "$1" == --cli-input-json ]]; then printf '%s' "$2" > "$FAKE_AWS_DIR/register-input.json"; shift; fi
      shift
    done
    printf '%s\\n' '{"taskDefinition":{"taskDefinitionArn":"${NEW_ARN}","revision":4,"status":"ACTIVE"}}'
    ;;
  *)
    echo "fake aws: unexpected call: $*" >&2
    exit 255
    ;;
esac
`;
}

function legacyFixture(): Json {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'describe-task-definition-legacy.json'), 'utf8'));
}

interface RunOptions {
  /** The describe-task-definition answer. @default the legacy fixture */
  readonly describe?: Json;
  /** Make describe-task-definition fail with this message. */
  readonly describeError?: string;
  /** Which tools the PATH holds. @default both */
  readonly tools?: ('aws' | 'jq')[];
}

interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The arguments of each `aws` call. */
  readonly calls: string[];
  /** The register-task-definition input, if the script registered. */
  readonly registered?: Json;
}

function runMigration(args: string[], options: RunOptions = {}): RunResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-migrate-'));
  try {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const tools = options.tools ?? ['aws', 'jq'];
    if (tools.includes('aws')) {
      fs.writeFileSync(path.join(bin, 'aws'), fakeAws(), { mode: 0o755 });
    }
    if (tools.includes('jq')) {
      fs.symlinkSync(JQ, path.join(bin, 'jq'));
    }
    fs.writeFileSync(path.join(dir, 'describe.json'), JSON.stringify(options.describe ?? legacyFixture(), null, 2));
    if (options.describeError) {
      fs.writeFileSync(path.join(dir, 'describe-error.txt'), options.describeError);
    }
    const result = spawnSync(BASH, [SCRIPT, ...args], {
      env: { PATH: bin, HOME: dir, FAKE_AWS_DIR: dir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const read = (name: string) => {
      const file = path.join(dir, name);
      return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    };
    const registered = read('register-input.json');
    return {
      status: result.status,
      stdout: result.stdout,
      stderr: result.stderr,
      calls: (read('calls.log') ?? '').split('\n').filter((line) => line !== ''),
      registered: registered === undefined ? undefined : JSON.parse(registered),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The fixture's task definition as register-task-definition must receive it, with the web container's credentialSpecs. */
function expectedInput(credentialSpec: string): Json {
  const described = legacyFixture();
  const input = { ...described.taskDefinition, tags: described.tags };
  for (const field of READ_ONLY_FIELDS) {
    delete input[field];
  }
  input.containerDefinitions[0].dockerSecurityOptions = ['no-new-privileges'];
  input.containerDefinitions[0].credentialSpecs = [credentialSpec];
  return input;
}

/** The legacy fixture with changes to its task definition. */
function fixtureWith(change: (taskDefinition: Json) => void, dropTags = false): Json {
  const described = legacyFixture();
  change(described.taskDefinition);
  if (dropTags) {
    delete described.tags;
  }
  return described;
}

describe('update-ecs-task-definition-cred-spec.sh', () => {
  test('is executable, with a bash shebang and strict mode', () => {
    // GIVEN / WHEN
    const text = fs.readFileSync(SCRIPT, 'utf8');
    // THEN
    expect(fs.statSync(SCRIPT).mode & 0o111).not.toBe(0);
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toContain('\nset -euo pipefail\n');
  });

  describe('migrates a legacy dockerSecurityOptions credential spec', () => {
    test('to a domainless credentialSpecs entry, dropping read-only fields and keeping the rest', () => {
      // GIVEN the legacy fixture (web container with credentialspec:<SSM ARN> and no-new-privileges; a log router)
      // WHEN
      const run = runMigration(['sample-web-app', '--domainless']);
      // THEN
      expect(run.status).toBe(0);
      expect(run.registered).toEqual(expectedInput(`credentialspecdomainless:${SSM_CREDSPEC}`));
      expect(run.stdout).toBe(`${NEW_ARN}\n`);
      expect(run.stderr).toContain(
        `container web: dockerSecurityOptions [credentialspec:${SSM_CREDSPEC}] -> credentialSpecs [credentialspecdomainless:${SSM_CREDSPEC}]`,
      );
      expect(run.calls).toEqual([
        'ecs describe-task-definition --task-definition sample-web-app --include TAGS --output json',
        expect.stringMatching(/^ecs register-task-definition --cli-input-json \{.*\} --output json$/),
      ]);
    });

    test('to a domain-joined credentialSpecs entry', () => {
      // WHEN
      const run = runMigration(['--domain-joined', SOURCE_ARN]);
      // THEN
      expect(run.status).toBe(0);
      expect(run.registered).toEqual(expectedInput(`credentialspec:${SSM_CREDSPEC}`));
      expect(run.stdout).toBe(`${NEW_ARN}\n`);
      expect(run.calls[0]).toBe(
        `ecs describe-task-definition --task-definition ${SOURCE_ARN} --include TAGS --output json`,
      );
    });

    test('removes dockerSecurityOptions when the credential spec was its only entry, and leaves other containers alone', () => {
      // GIVEN
      const describe = fixtureWith((td) => {
        td.containerDefinitions[0].dockerSecurityOptions = [`credentialspec:${SSM_CREDSPEC}`];
      });
      // WHEN
      const run = runMigration(['sample-web-app', '--domainless'], { describe });
      // THEN
      expect(run.status).toBe(0);
      const [web, logRouter] = run.registered.containerDefinitions;
      expect(web).not.toHaveProperty('dockerSecurityOptions');
      expect(web.credentialSpecs).toEqual([`credentialspecdomainless:${SSM_CREDSPEC}`]);
      expect(logRouter).toEqual(legacyFixture().taskDefinition.containerDefinitions[1]);
    });

    test('uses --credspec-arn=<ARN> instead of the ARN found, and passes --region to every call', () => {
      // WHEN
      const run = runMigration([
        'sample-web-app',
        '--domainless',
        `--credspec-arn=${S3_CREDSPEC}`,
        '--region',
        'eu-west-1',
      ]);
      // THEN
      expect(run.status).toBe(0);
      expect(run.registered.containerDefinitions[0].credentialSpecs).toEqual([
        `credentialspecdomainless:${S3_CREDSPEC}`,
      ]);
      expect(run.calls).toHaveLength(2);
      for (const call of run.calls) {
        expect(call).toMatch(/ --output json --region eu-west-1$/);
      }
    });

    test('for a Fargate task definition with its CredSpec in S3, without tags', () => {
      // GIVEN
      const describe = fixtureWith((td) => {
        td.requiresCompatibilities = ['FARGATE'];
        td.compatibilities = ['EC2', 'FARGATE'];
        td.containerDefinitions[0].dockerSecurityOptions = [`credentialspec:${S3_CREDSPEC}`];
      }, true);
      // WHEN
      const run = runMigration(['sample-web-app', '--domainless'], { describe });
      // THEN
      expect(run.status).toBe(0);
      expect(run.registered.requiresCompatibilities).toEqual(['FARGATE']);
      expect(run.registered).not.toHaveProperty('compatibilities');
      expect(run.registered).not.toHaveProperty('tags');
      expect(run.registered.containerDefinitions[0].credentialSpecs).toEqual([
        `credentialspecdomainless:${S3_CREDSPEC}`,
      ]);
    });

    test('switches existing credentialSpecs from domain-joined to domainless', () => {
      // GIVEN
      const describe = fixtureWith((td) => {
        td.containerDefinitions[0].dockerSecurityOptions = ['no-new-privileges'];
        td.containerDefinitions[0].credentialSpecs = [`credentialspec:${SSM_CREDSPEC}`];
      });
      // WHEN
      const run = runMigration(['sample-web-app', '--domainless'], { describe });
      // THEN
      expect(run.status).toBe(0);
      expect(run.registered).toEqual(expectedInput(`credentialspecdomainless:${SSM_CREDSPEC}`));
    });
  });

  test('--dry-run prints the register-task-definition input and registers nothing', () => {
    // WHEN
    const run = runMigration(['sample-web-app', '--domainless', '--dry-run']);
    // THEN
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(expectedInput(`credentialspecdomainless:${SSM_CREDSPEC}`));
    expect(run.stderr).toContain('dry run');
    expect(run.calls).toEqual([
      'ecs describe-task-definition --task-definition sample-web-app --include TAGS --output json',
    ]);
    expect(run.registered).toBeUndefined();
  });

  describe('nothing to migrate', () => {
    test('says the container already uses the requested credentialSpecs, exits 0 and registers nothing', () => {
      // GIVEN
      const describe = fixtureWith((td) => {
        td.containerDefinitions[0].dockerSecurityOptions = ['no-new-privileges'];
        td.containerDefinitions[0].credentialSpecs = [`credentialspecdomainless:${SSM_CREDSPEC}`];
      });
      // WHEN
      const run = runMigration(['sample-web-app', '--domainless'], { describe });
      // THEN
      expect(run.status).toBe(0);
      expect(run.stdout).toBe(
        `Nothing to migrate in ${SOURCE_ARN}: container(s) web already use credentialSpecs [credentialspecdomainless:${SSM_CREDSPEC}].\n`,
      );
      expect(run.registered).toBeUndefined();
      expect(run.calls).toHaveLength(1);
    });

    test('says no container uses gMSA, exits 0 and registers nothing', () => {
      // GIVEN
      const describe = fixtureWith((td) => {
        td.containerDefinitions[0].dockerSecurityOptions = ['no-new-privileges'];
      });
      // WHEN
      const run = runMigration(['sample-web-app', '--domain-joined'], { describe });
      // THEN
      expect(run.status).toBe(0);
      expect(run.stdout).toBe(
        `Nothing to migrate in ${SOURCE_ARN}: no container uses gMSA (no credentialspec entry in dockerSecurityOptions, no credentialSpecs).\n`,
      );
      expect(run.registered).toBeUndefined();
    });
  });

  describe('fails without registering', () => {
    test.each<[string, (td: Json) => void, string[], RegExp]>([
      [
        'fails for domain-joined on Fargate',
        (td) => {
          td.requiresCompatibilities = ['FARGATE'];
        },
        ['--domain-joined'],
        /requires FARGATE, which supports domainless gMSA only: use --domainless$/,
      ],
      [
        'fails for an SSM CredSpec on Fargate',
        (td) => {
          td.requiresCompatibilities = ['FARGATE'];
        },
        ['--domainless'],
        /requires FARGATE, which reads the CredSpec from S3 only: pass an S3 object ARN with --credspec-arn$/,
      ],
      [
        'fails for a CredSpec that is not an ARN',
        (td) => {
          td.containerDefinitions[0].dockerSecurityOptions = ['credentialspec:file://webapp.json'];
        },
        ['--domainless'],
        /container web uses CredSpec "file:\/\/webapp.json", which is not an S3 or SSM ARN: upload it and pass --credspec-arn$/,
      ],
      [
        'fails for a container naming two CredSpecs',
        (td) => {
          td.containerDefinitions[0].credentialSpecs = [`credentialspec:${S3_CREDSPEC}`];
        },
        ['--domainless'],
        /container web names more than one CredSpec \(.+\): choose one with --credspec-arn$/,
      ],
    ])('%s', (_name, change, args, message) => {
      // WHEN
      const run = runMigration(['sample-web-app', ...args], { describe: fixtureWith(change) });
      // THEN
      expect(run.status).toBe(1);
      const lastLine = run.stderr.trim().split('\n').pop();
      expect(lastLine).toMatch(
        new RegExp(`^${escapeRegExp(PROG)}: error: cannot migrate ${escapeRegExp(SOURCE_ARN)}: `),
      );
      expect(lastLine).toMatch(message);
      expect(run.registered).toBeUndefined();
    });

    test('fails with the AWS CLI message when describe-task-definition fails', () => {
      // WHEN
      const run = runMigration(['sample-web-app', '--domainless'], {
        describeError:
          'An error occurred (ClientException) when calling the DescribeTaskDefinition operation: Unable to describe task definition.',
      });
      // THEN
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('(ClientException)');
      expect(run.stderr).toContain(`${PROG}: error: aws ecs describe-task-definition failed for 'sample-web-app'`);
      expect(run.stdout).toBe('');
    });
  });

  describe('bad usage', () => {
    test.each<[string, string[], RegExp]>([
      ['fails without arguments', [], /missing the task definition/],
      ['fails without a mode', ['sample-web-app'], /choose --domainless or --domain-joined/],
      ['fails without a task definition', ['--domainless'], /missing the task definition/],
      ['fails with both modes', ['sample-web-app', '--domainless', '--domain-joined'], /mutually exclusive/],
      ['fails with an unknown option', ['sample-web-app', '--domainless', '--force'], /unknown option: --force/],
      ['fails with two task definitions', ['app-a', 'app-b', '--domainless'], /one task definition only/],
      ['fails with an invalid task definition name', ['my app!', '--domainless'], /is not a task definition family/],
      [
        'fails with --credspec-arn and no value',
        ['sample-web-app', '--domainless', '--credspec-arn'],
        /--credspec-arn needs a value/,
      ],
      ['fails with an empty --region=', ['sample-web-app', '--domainless', '--region='], /--region needs a value/],
      [
        'fails with a --credspec-arn that is not an S3 or SSM ARN',
        ['sample-web-app', '--domainless', '--credspec-arn', 'arn:aws:iam::111111111111:role/x'],
        /is not an S3 object ARN/,
      ],
      [
        'fails with an invalid --region',
        ['sample-web-app', '--domainless', '--region', 'moon'],
        /is not an AWS Region name/,
      ],
    ])('%s: one error line, exit 2, no AWS call', (_name, args, message) => {
      // WHEN
      const run = runMigration(args);
      // THEN
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      const lines = run.stderr.split('\n').filter((line) => line !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^${escapeRegExp(PROG)}: error: .+ \\(see ${escapeRegExp(PROG)} --help\\)$`));
      expect(lines[0]).toMatch(message);
      expect(run.calls).toEqual([]);
    });
  });

  test.each([['--help'], ['-h']])('%s prints the usage and exits 0, even without aws and jq', (flag) => {
    // WHEN
    const run = runMigration(['sample-web-app', flag], { tools: [] });
    // THEN
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^Usage: ${escapeRegExp(PROG)} <task-definition> \\(--domainless \\| --domain-joined\\) \\[options\\]`,
      ),
    );
    for (const option of [
      '--domainless',
      '--domain-joined',
      '--credspec-arn <ARN>',
      '--region <region>',
      '--dry-run',
    ]) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stderr).toBe('');
  });

  describe('missing tools', () => {
    test.each<[string, ('aws' | 'jq')[], string[]]>([
      ['fails naming jq when jq is missing', ['aws'], ['jq']],
      ['fails naming aws when the AWS CLI is missing', ['jq'], ['aws']],
      ['fails naming both when both are missing', [], ['aws', 'jq']],
    ])('%s', (_name, tools, missing) => {
      // WHEN
      const run = runMigration(['sample-web-app', '--domainless'], { tools });
      // THEN
      expect(run.status).toBe(1);
      const lines = run.stderr.split('\n').filter((line) => line !== '');
      expect(lines.map((line) => line.match(/^.+: error: required command not found: (\w+) /)?.[1])).toEqual(missing);
      expect(run.calls).toEqual([]);
    });
  });
});

describe('Update-ECSTaskDefinitionCredSpec.ps1', () => {
  let text: string;
  let parsed: PowerShellParseResult;
  let help: string;

  beforeAll(() => {
    // GIVEN the script's text and parse tree
    text = fs.readFileSync(PS_SCRIPT, 'utf8');
    [parsed] = parsePowerShell([{ name: PS_SCRIPT, text }]);
    help = parsed.leadingComments.join('\n');
  });

  test('parses, and binds like a cmdlet with -WhatIf support', () => {
    // THEN
    expect(parsed.problems).toEqual([]);
    expect(parsed.scriptAttributes).toContain('[CmdletBinding(SupportsShouldProcess)]');
    expect(text).toContain("\n$ErrorActionPreference = 'Stop'\n");
    expect(text).toContain('$PSCmdlet.ShouldProcess(');
  });

  test('validates its parameters', () => {
    // THEN
    const attributes = Object.fromEntries(parsed.parameters.map((p) => [p.name, p.attributes]));
    expect(Object.keys(attributes)).toEqual(['TaskDefinition', 'Mode', 'CredSpecArn', 'Region', 'DryRun']);
    expect(attributes.TaskDefinition).toEqual(
      expect.arrayContaining([
        '[Parameter(Mandatory, Position = 0)]',
        expect.stringMatching(/^\[ValidatePattern\(/),
        '[string]',
      ]),
    );
    expect(attributes.Mode).toEqual([
      '[Parameter(Mandatory)]',
      "[ValidateSet('Domainless', 'DomainJoined')]",
      '[string]',
    ]);
    expect(attributes.CredSpecArn).toEqual([
      expect.stringMatching(/^\[ValidatePattern\('\^arn:aws.*s3:::.*ssm:.*parameter/),
      '[string]',
    ]);
    expect(attributes.Region).toEqual([expect.stringMatching(/^\[ValidatePattern\(/), '[string]']);
    expect(attributes.DryRun).toEqual(['[switch]']);
  });

  test('has comment-based help for Get-Help, documenting every parameter', () => {
    // THEN the help block comes before param() and documents exactly the script's parameters
    expect(help).toMatch(/^<#\n\.SYNOPSIS\n {4}\S/);
    for (const keyword of ['.DESCRIPTION', '.EXAMPLE', '.OUTPUTS', '.NOTES']) {
      expect(help).toContain(`\n${keyword}\n`);
    }
    const documented = [...help.matchAll(/^\.PARAMETER (\w+)$/gm)].map((m) => m[1]);
    expect(documented).toEqual(parsed.parameters.map((p) => p.name));
    expect(help.match(/^\.EXAMPLE$/gm)?.length).toBeGreaterThanOrEqual(2);
  });

  test('makes the same AWS CLI calls and transformation as the Bash script', () => {
    // THEN
    expect(text).toContain(
      "@('ecs', 'describe-task-definition', '--task-definition', $TaskDefinition, '--include', 'TAGS')",
    );
    expect(text).toContain("@('ecs', 'register-task-definition', '--cli-input-json', \"file://$inputFile\")");
    expect(text).toContain("if ($Mode -eq 'Domainless') { 'credentialspecdomainless:' } else { 'credentialspec:' }");
    expect(text).toContain('ConvertTo-Json -Depth 20');
    const readOnly = text.match(/\$readOnlyFields = @\(([^)]*)\)/)![1];
    expect([...readOnly.matchAll(/'(\w+)'/g)].map((m) => m[1])).toEqual(READ_ONLY_FIELDS);
    expect(text).toContain('Nothing to migrate in ${sourceArn}: no container uses gMSA');
    expect(text).toContain('already use credentialSpecs');
  });
});
