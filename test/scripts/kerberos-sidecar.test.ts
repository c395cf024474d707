import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseCcache, tgtEnd } from '../helpers/ccache';
import { FakeSecretsManager } from '../helpers/fake-secrets-manager';
import { describeWithKdc, KdcRealm, REALM, sleep } from '../helpers/kdc-realm';

// The sidecar's script, run by bash as the container runs it, against a real MIT KDC on 127.0.0.1 (Debian's
// krb5-kdc): the only fake is the secret source, a JSON file the tests rewrite (`SECRET_SOURCE=file:`), which stands
// for the Secrets Manager secret the rotation function changes. The cache is checked by parsing its bytes
// (test/helpers/ccache.ts), not through the klist the script itself uses.

const SCRIPT = path.join(__dirname, '..', '..', 'kerberos-sidecar', 'kerberos-sidecar.sh');
const USER = 'webapp';
const APP_UID = 1654;

interface Sidecar {
  readonly realm: KdcRealm;
  /** Directory standing for the shared volume. */
  readonly volume: string;
  readonly cache: string;
  readonly secretFile: string;
  readonly env: Record<string, string>;
  setPassword(password: string): void;
}

const realms: KdcRealm[] = [];
const loops: ChildProcess[] = [];
afterAll(() => {
  for (const loop of loops) loop.kill('SIGTERM');
  for (const realm of realms) realm.dispose();
});

/** A realm with the user, a secret file holding its password, and an empty volume directory. */
async function sidecar(settings: Record<string, string> = {}, password = 'Initial-Passw0rd'): Promise<Sidecar> {
  const realm = await KdcRealm.create({ lifetimeSeconds: 90 });
  realms.push(realm);
  realm.addUser(USER, password);
  const volume = path.join(realm.directory, 'volume');
  fs.mkdirSync(volume);
  const secretFile = path.join(realm.directory, 'secret.json');
  const setPassword = (value: string): void =>
    // Written then renamed, as a reader must never see half a secret (Secrets Manager never serves one).
    writeAtomically(secretFile, JSON.stringify({ username: USER, password: value, domainName: 'gmsa.test' }));
  setPassword(password);
  const cache = path.join(volume, 'krb5cc');
  return {
    realm,
    volume,
    cache,
    secretFile,
    setPassword,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...realm.env,
      SECRET_SOURCE: `file:${secretFile}`,
      TICKET_CACHE: cache,
      ...settings,
    },
  };
}

function writeAtomically(file: string, text: string): void {
  fs.writeFileSync(`${file}.new`, text, { mode: 0o644 });
  fs.renameSync(`${file}.new`, file);
}

function runScript(
  env: Record<string, string>,
  command: string,
  prefix: string[] = [],
): { status: number | null; stdout: string; stderr: string } {
  const [program, ...args] = [...prefix, 'bash', SCRIPT, command];
  const result = spawnSync(program, args, { env, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * {@link runScript} without blocking the event loop, for the scenarios that run side by side: a spawnSync there would
 * stall the other scenarios' cache watchers.
 */
function runScriptAsync(
  env: Record<string, string>,
  command: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn('bash', [SCRIPT, command], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Polls an async probe every 100 ms until it returns a value (bounded). */
async function waitForAsync<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

const healthy = async (env: Record<string, string>): Promise<boolean> =>
  (await runScriptAsync(env, 'health')).status === 0;

/** `kerberos-sidecar.sh run` in the background; stopped with SIGTERM, as ECS stops it. */
function startLoop(env: Record<string, string>): {
  process: ChildProcess;
  log: () => string;
  stop: () => Promise<number | null>;
} {
  let log = '';
  const child = spawn('bash', [SCRIPT, 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 90_000 });
  loops.push(child);
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The cache's TGT end time, or undefined while there is no complete cache. Throws on a cache that is not valid. */
function readEnd(cache: string): number | undefined {
  if (!fs.existsSync(cache)) return undefined;
  return tgtEnd(parseCcache(fs.readFileSync(cache)));
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Reads the cache every 100 ms while `body` runs, as the app does at any moment: once it exists, every read must be a
 * complete cache (parsed, no truncation) whose TGT has not ended. Returns each distinct end time with when it was seen.
 */
async function watchCache(
  cache: string,
  body: (seen: readonly { end: number; seenAt: number; inode: number }[]) => Promise<void>,
): Promise<{ end: number; seenAt: number; inode: number }[]> {
  const seen: { end: number; seenAt: number; inode: number }[] = [];
  let stop = false;
  let failure: unknown;
  const watcher = (async () => {
    while (!stop) {
      try {
        const end = readEnd(cache);
        const now = Date.now() / 1000;
        if (end !== undefined) {
          if (end <= now) throw new Error(`the cache's ticket ended at ${end}, seen at ${now}`);
          if (seen.at(-1)?.end !== end) seen.push({ end, seenAt: now, inode: fs.statSync(cache).ino });
        }
      } catch (error) {
        failure ??= error;
      }
      await sleep(100);
    }
  })();
  try {
    await body(seen);
  } finally {
    stop = true;
    await watcher;
  }
  if (failure) throw failure;
  return seen;
}

function stat(file: string): { uid: number; gid: number; mode: string } {
  const s = fs.statSync(file);
  return { uid: s.uid, gid: s.gid, mode: (s.mode & 0o777).toString(8) };
}

describeWithKdc('kerberos-sidecar.sh against a real MIT KDC', () => {
  describe('GIVEN the user and its password in the secret source', () => {
    test('WHEN run once as root THEN it writes a cache for user@REALM owned by the app UID, mode 0600, and nothing else', async () => {
      const s = await sidecar();

      const result = runScript(s.env, 'once');

      expect(result.stderr).toMatch(/ticket for webapp@GMSA\.TEST written to/);
      expect(result.status).toBe(0);
      expect(stat(s.cache)).toEqual({ uid: APP_UID, gid: APP_UID, mode: '600' });
      const ccache = parseCcache(fs.readFileSync(s.cache));
      expect(ccache.principal).toBe(`${USER}@${REALM}`);
      expect(tgtEnd(ccache)).toBeGreaterThan(Date.now() / 1000 + 3000); // the KDC's max_life is 1 h
      // No temporary file left next to the cache; the password appears nowhere in the output.
      expect(fs.readdirSync(s.volume)).toEqual(['krb5cc']);
      expect(result.stderr + result.stdout).not.toContain('Initial-Passw0rd');
      // The health check agrees.
      expect(runScript(s.env, 'health')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^healthy/) });
    });

    test('WHEN run once as the app UID itself (no root) THEN the cache is owned by that UID, mode 0600', async () => {
      const s = await sidecar({ CACHE_UID: String(APP_UID) });
      // The app's user must reach the configuration and the secret, and write the volume (as the image's VOLUME
      // directory owned by 1654 gives it on ECS).
      fs.chmodSync(s.realm.directory, 0o755);
      fs.chownSync(s.volume, APP_UID, APP_UID);

      const result = runScript(s.env, 'once', [
        'setpriv',
        `--reuid=${APP_UID}`,
        `--regid=${APP_UID}`,
        '--clear-groups',
      ]);

      expect(result.status).toBe(0);
      expect(stat(s.cache)).toEqual({ uid: APP_UID, gid: APP_UID, mode: '600' });
    });

    test('fails WHEN run as a user that is neither root nor the app UID: one line, no cache', async () => {
      const s = await sidecar();
      fs.chmodSync(s.realm.directory, 0o755);
      fs.chmodSync(s.volume, 0o777);

      const result = runScript(s.env, 'once', ['setpriv', '--reuid=1655', '--regid=1655', '--clear-groups']);

      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringContaining('runs as uid 1655: cannot write a cache owned by CACHE_UID=1654'),
      ]);
      expect(fs.existsSync(s.cache)).toBe(false);
    });

    test.each([
      [{ SECRET_SOURCE: 'vault:x' }, "invalid SECRET_SOURCE 'vault:x': expected secretsmanager:<secret ARN>"],
      [{ SECRET_SOURCE: 'secretsmanager:not-an-arn' }, "invalid SECRET_SOURCE 'secretsmanager:not-an-arn'"],
      [{ RETRY_ATTEMPTS: 'many' }, "invalid RETRY_ATTEMPTS 'many': expected a whole number"],
      [{ RENEW_MIN_SECONDS: '10', RENEW_MAX_SECONDS: '5' }, "invalid RENEW_MIN_SECONDS '10': expected at most"],
    ])('fails WHEN a setting is invalid (%j): one line naming it, before any kinit', async (settings, message) => {
      const s = await sidecar(settings);

      const result = runScript(s.env, 'run');

      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(message)]);
      expect(fs.existsSync(s.cache)).toBe(false);
    });

    test('fails WHEN the password is wrong: kinit says why, no cache, health bad', async () => {
      const s = await sidecar();
      s.setPassword('Wrong-Passw0rd');

      const result = runScript(s.env, 'once');

      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/kinit webapp@GMSA\.TEST failed: .*Password incorrect/);
      expect(fs.readdirSync(s.volume)).toEqual([]);
      expect(runScript(s.env, 'health')).toMatchObject({ status: 1, stdout: expect.stringMatching(/no ticket cache/) });
    });
  });

  describe('the health check', () => {
    test.each([
      ['a missing cache', undefined, /unhealthy: no ticket cache/],
      ['an empty cache', '', /unhealthy: no ticket cache/],
      ['a garbage cache', 'not a ccache', /unhealthy: .* holds no ticket-granting ticket/],
    ])('fails for %s', async (_, content, message) => {
      const s = await sidecar();
      if (content !== undefined) fs.writeFileSync(s.cache, content);

      expect(runScript(s.env, 'health')).toMatchObject({ status: 1, stdout: expect.stringMatching(message) });
    });

    test('fails for a ticket about to end (less than HEALTH_MIN_REMAINING_SECONDS left), passes with more', async () => {
      const s = await sidecar({ TICKET_LIFETIME: '120s', HEALTH_MIN_REMAINING_SECONDS: '600' });
      expect(runScript(s.env, 'once').status).toBe(0);

      expect(runScript(s.env, 'health')).toMatchObject({ status: 1, stdout: expect.stringMatching(/ends in 1\d\d s/) });
      expect(runScript({ ...s.env, HEALTH_MIN_REMAINING_SECONDS: '60' }, 'health').status).toBe(0);
    });
  });

  describe('GIVEN SECRET_SOURCE=secretsmanager: (curl --aws-sigv4 with the task role, against a fake that checks SigV4)', () => {
    const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sample/webapp-identity-AbCdEf';
    let fake: FakeSecretsManager;
    beforeAll(async () => {
      fake = await FakeSecretsManager.start('eu-west-1', ARN);
    });
    afterAll(() => fake.close());

    const secret = (password: string): string =>
      JSON.stringify({ username: USER, password, domainName: 'gmsa.test', directoryId: 'd-1234567890' });

    test('WHEN run once THEN it reads the secret with a valid signature and writes the cache; the next run reads it again', async () => {
      const s = await sidecar();
      fake.secretString = secret('Initial-Passw0rd');
      const env = { ...s.env, ...fake.env };

      const first = await runScriptAsync(env, 'once');
      // The rotation: AD gets the new password, then AWSCURRENT holds it.
      s.realm.changePassword(USER, 'Rotated-Passw0rd');
      fake.secretString = secret('Rotated-Passw0rd');
      const second = await runScriptAsync(env, 'once');

      expect(first.stderr).toMatch(/ticket for webapp@GMSA\.TEST written/);
      expect(first.status).toBe(0);
      expect(second.status).toBe(0);
      expect(fake.calls.slice(-2)).toEqual([
        { target: 'secretsmanager.GetSecretValue', status: 200 },
        { target: 'secretsmanager.GetSecretValue', status: 200 },
      ]);
      expect(stat(s.cache)).toEqual({ uid: APP_UID, gid: APP_UID, mode: '600' });
      expect(first.stderr + second.stderr).not.toMatch(/Passw0rd|fake\/Secret|FwoGZXIv/);
    });

    test.each([
      [
        'a secret the role cannot find',
        { SECRET_SOURCE: `secretsmanager:${ARN.replace('AbCdEf', 'XxXxXx')}` },
        /GetSecretValue failed: ResourceNotFoundException/,
      ],
      [
        'a secret in another region than the one signed for',
        { SECRET_SOURCE: `secretsmanager:${ARN.replace('eu-west-1', 'us-east-1')}` },
        /GetSecretValue failed: InvalidSignatureException/,
      ],
      [
        'no container credentials token',
        { AWS_CONTAINER_AUTHORIZATION_TOKEN: 'wrong' },
        /could not read the task role's credentials/,
      ],
    ])('fails WHEN %s: one reason in the log, no cache', async (_, override, message) => {
      const s = await sidecar();
      fake.secretString = secret('Initial-Passw0rd');

      const result = await runScriptAsync({ ...s.env, ...fake.env, ...override }, 'once');

      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(fs.existsSync(s.cache)).toBe(false);
    });

    test('fails WHEN the task has no role (no container credentials variables): says so', async () => {
      const s = await sidecar();

      const result = await runScriptAsync({ ...s.env, SECRET_SOURCE: `secretsmanager:${ARN}` }, 'once');

      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/no task role credentials .*the task definition needs a task role/);
    });
  });

  // The timed scenarios run side by side, each with its own realm: 20-second tickets, so half-life renewals
  // every ~10 s (shorter ones leave too little margin on a busy 2-core machine: each step costs whole seconds there).
  const LOOP = { TICKET_LIFETIME: '20s', RENEW_MIN_SECONDS: '1', RETRY_BASE_SECONDS: '1', RETRY_MAX_SECONDS: '1' };

  test.concurrent(
    'WHEN it runs THEN it renews before each ticket ends, by rename, and the app never sees a gap',
    async () => {
      const s = await sidecar({ ...LOOP, HEALTH_MIN_REMAINING_SECONDS: '2' });
      const loop = startLoop(s.env);

      const seen = await watchCache(s.cache, async (seenSoFar) => {
        await waitFor('a renewed ticket', () => (seenSoFar.length >= 2 ? true : undefined), 40_000);
      });

      expect(await loop.stop()).toBe(0);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < seen.length; i++) {
        // Each new ticket arrived while the previous one was still valid (the watcher also saw no ended ticket).
        expect(seen[i - 1].end - seen[i].seenAt).toBeGreaterThan(0);
        expect(seen[i].end).toBeGreaterThan(seen[i - 1].end);
        // A new file renamed over the old one, never the old file rewritten in place.
        expect(seen[i].inode).not.toBe(seen[i - 1].inode);
      }
      expect(stat(s.cache)).toEqual({ uid: APP_UID, gid: APP_UID, mode: '600' });
      expect(fs.readdirSync(s.volume)).toEqual(['krb5cc']);
      // "Well before the end": the next renewal is planned at half the remaining life (20 s tickets: about 10 s).
      const delays = [...loop.log().matchAll(/next renewal in (\d+) s/g)].map((match) => Number(match[1]));
      expect(delays.length).toBeGreaterThanOrEqual(1);
      for (const delay of delays) {
        expect(delay).toBeGreaterThanOrEqual(6);
        expect(delay).toBeLessThanOrEqual(10);
      }
    },
  );

  test.concurrent(
    'WHEN the password is changed in the directory THEN renewals fail, the old ticket stays, and the new password in the secret is used at the next try',
    async () => {
      const s = await sidecar({ ...LOOP, HEALTH_MIN_REMAINING_SECONDS: '1' });
      const loop = startLoop(s.env);

      const first = await waitFor('the first ticket', () => readEnd(s.cache), 20_000);
      // The rotation function's setSecret step: AD has the new password, the secret's AWSCURRENT not yet.
      s.realm.changePassword(USER, 'Rotated-Passw0rd');
      await waitFor('a failed renewal', () => (/Password incorrect/.test(loop.log()) ? true : undefined), 25_000);
      // The failed renewal left the previous ticket in place, and it is still good.
      expect(readEnd(s.cache)).toBe(first);
      expect((await runScriptAsync(s.env, 'health')).stdout).toMatch(/^healthy/);
      // finishSecret: the secret now holds the new password; the next retry uses it.
      s.setPassword('Rotated-Passw0rd');
      await waitFor(
        'a ticket from the new password',
        () => ((readEnd(s.cache) ?? 0) > first ? true : undefined),
        20_000,
      );

      expect(await loop.stop()).toBe(0);
      expect(loop.log()).toMatch(
        /kinit webapp@GMSA\.TEST failed: .*Password incorrect[\s\S]*attempt 1 failed; retrying in 1 s/,
      );
      expect(loop.log()).not.toMatch(/Passw0rd/);
    },
  );

  test.concurrent(
    'WHEN the KDC is down THEN it retries at a bounded pace, health turns bad before the ticket ends, and it recovers when the KDC is back',
    async () => {
      const s = await sidecar({ ...LOOP, HEALTH_MIN_REMAINING_SECONDS: '7', RETRY_ATTEMPTS: '100' });
      const loop = startLoop(s.env);
      await waitFor('the first ticket', () => readEnd(s.cache), 20_000);
      const failures = (): number => (loop.log().match(/attempt \d+ failed/g) ?? []).length;

      await s.realm.stop();
      const downAt = Date.now();
      await waitForAsync(
        'health to turn bad after a failed renewal',
        async () => (failures() >= 1 && !(await healthy(s.env)) ? true : undefined),
        20_000,
      );
      await s.realm.start();
      const downSeconds = (Date.now() - downAt) / 1000;
      const failuresWhileDown = failures();
      await waitForAsync('health to recover', async () => ((await healthy(s.env)) ? true : undefined), 20_000);
      // (SIGTERM between the rename and its log line would lose the line: wait for it.)
      await waitFor(
        'the renewal to be logged',
        () => (loop.log().match(/ticket for .* written/g) ?? []).length >= 2 || undefined,
        10_000,
      );

      expect(await loop.stop()).toBe(0);
      // RETRY_MAX_SECONDS=1: at most one attempt a second while the KDC was down (plus the first), never a busy loop.
      expect(failuresWhileDown).toBeLessThanOrEqual(Math.ceil(downSeconds) + 1);
      expect(loop.log()).toMatch(/Cannot contact any KDC for realm 'GMSA\.TEST'/);
      expect(loop.log()).toMatch(/attempt 1 failed; retrying in 1 s[\s\S]*ticket for webapp@GMSA\.TEST written/);
      expect(stat(s.cache)).toEqual({ uid: APP_UID, gid: APP_UID, mode: '600' });
    },
  );

  test.concurrent(
    'fails WHEN the KDC is down from the start: exits 1 after RETRY_ATTEMPTS attempts, backing off',
    async () => {
      const s = await sidecar({ ...LOOP, RETRY_ATTEMPTS: '3', RETRY_MAX_SECONDS: '4' });
      await s.realm.stop();
      const started = Date.now();
      const loop = startLoop(s.env);

      const status = await new Promise<number | null>((resolve) => loop.process.once('exit', resolve));

      expect(status).toBe(1);
      const log = loop.log();
      expect(log).toMatch(/attempt 1 failed; retrying in 1 s/);
      expect(log).toMatch(/attempt 2 failed; retrying in 2 s/);
      expect(log).toMatch(/giving up after 3 failed attempts in a row, with no valid ticket left/);
      // 1 s + 2 s of backoff between the three attempts.
      expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
      expect(fs.readdirSync(s.volume)).toEqual([]);
    },
  );
});

describe('kerberos-sidecar.sh', () => {
  test('passes shellcheck', () => {
    const result = spawnSync('shellcheck', [SCRIPT], { encoding: 'utf8', timeout: 30_000 });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test('is executable (the Dockerfile copies it with its mode)', () => {
    expect(fs.statSync(SCRIPT).mode & 0o111).toBe(0o111);
  });
});
