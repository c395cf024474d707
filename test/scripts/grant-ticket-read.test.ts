import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TICKET_READ_SCRIPT_SOURCE } from '../../lib/constructs/credentials-fetcher-hosts';
import { DOTNET_APP_UID } from '../../lib/constructs/gmsa-task-definition';
import { describeWithKdc, KdcRealm } from '../helpers/kdc-realm';
import { fakeCredentialsFetcherLease, fakeKinitWrite, LeaseLayout } from '../helpers/stub-bin';

// grant-ticket-read.sh, run by bash against a scratch host root on which a fake credentials-fetcher writes leases the
// way the real one does (test/helpers/stub-bin.ts cites the sources), and, where root and a KDC are at hand, against
// caches written by the real MIT kinit, read back as UID 1654 and refused to another UID.

const IS_ROOT = process.getuid?.() === 0;
/** The group granted: the app's (1654) as root; otherwise the test user's own group, the only one it may chgrp to. */
const GID = IS_ROOT ? DOTNET_APP_UID : process.getgid!();
/**
 * How long a renewed cache may stay unreadable in this test: the service's one-second interval plus one pass, with
 * room for a loaded test machine (a full `npm test` on 2 shared cores measured 3.05 s once; alone, about 1 s).
 */
const REGRANT_BOUND_MS = 5_000;
const RUN_BOUND_MS = 20_000;
const describeAsRoot = IS_ROOT ? describe : describe.skip;

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

/** A scratch host root that other users may traverse (as / is), with /var/log for the script's log file. */
function hostRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-ticket-read-'));
  roots.push(root);
  fs.chmodSync(root, 0o755);
  fs.mkdirSync(path.join(root, 'var', 'log'), { recursive: true, mode: 0o755 });
  return root;
}

function runOnce(root: string, args: string[] = [String(GID), '--once'], script = TICKET_READ_SCRIPT_SOURCE) {
  return spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, GMSA_HOST_ROOT_DIR: root },
    timeout: RUN_BOUND_MS,
  });
}

/** Mode bits (no file type), owner and group of a path. */
function access(file: string): { mode: number; uid: number; gid: number } {
  const stat = fs.statSync(file);
  return { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
}

function logLines(root: string): string[] {
  const file = path.join(root, 'var', 'log', 'gmsa-ticket-read.log');
  return fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
    : [];
}

/** Reads `file` as UID/GID `id` with no supplementary group, as the container's process would. */
function readAs(id: number, file: string): boolean {
  return (
    spawnSync('setpriv', ['--reuid', String(id), '--regid', String(id), '--clear-groups', 'cat', file]).status === 0
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('grant-ticket-read.sh', () => {
  describe.each(['domainless', 'domain-joined'] as const)('GIVEN a new %s lease', (layout: LeaseLayout) => {
    const root = hostRoot();
    const cache = fakeCredentialsFetcherLease(root, layout, '3f2a9c0d1e4b5a6c7d8e', 'WebApp01');
    const gmsaDir = path.dirname(cache);
    const leaseDir = path.dirname(gmsaDir);
    const uid = access(cache).uid;
    const before = { cache: access(cache), lease: access(leaseDir), metadata: access(path.join(leaseDir, 'metadata')) };
    const run = runOnce(root);
    const krbDir = path.dirname(leaseDir);

    test('THEN the fake wrote what credentials-fetcher writes: an owner-only cache in directories of the mode', () => {
      expect(before.cache.mode).toBe(0o600);
      expect(before.lease.mode).toBe(layout === 'domainless' ? 0o755 : 0o750);
    });

    test('THEN the cache is readable by the group and its owner only, still owned by the writer', () => {
      expect(run.status).toBe(0);
      expect(access(cache)).toEqual({ mode: 0o640, uid, gid: GID });
    });

    test('THEN the lease and gMSA directories are traversable by the group only, listable by nobody else', () => {
      expect(access(leaseDir)).toEqual({ mode: 0o710, uid, gid: GID });
      expect(access(gmsaDir)).toEqual({ mode: 0o710, uid, gid: GID });
    });

    test('THEN nothing else changes: krbdir itself and the lease metadata stay as credentials-fetcher made them', () => {
      expect(access(path.join(leaseDir, 'metadata'))).toEqual(before.metadata);
      expect(access(krbDir).mode).toBe(0o755);
    });

    test('THEN each change is logged with what it was before', () => {
      const relative = path.relative(root, cache);
      expect(run.stderr).toContain(`gmsa-ticket-read: granted GID ${GID} read on /${relative} (was 600 `);
      expect(logLines(root)).toHaveLength(3);
      expect(logLines(root)[2]).toMatch(
        new RegExp(
          `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ gmsa-ticket-read: granted GID ${GID} read on /${relative} \\(was 600 `,
        ),
      );
    });

    test('THEN a second pass changes and logs nothing', () => {
      const again = runOnce(root);
      expect(again.status).toBe(0);
      expect(again.stderr).toBe('');
      expect(logLines(root)).toHaveLength(3);
      expect(access(cache)).toEqual({ mode: 0o640, uid, gid: GID });
    });
  });

  describe('GIVEN the service running and a renewal that replaces the cache', () => {
    test('THEN the new cache is owner-only at first and readable by the group again within the bound', async () => {
      const root = hostRoot();
      const cache = fakeCredentialsFetcherLease(root, 'domainless', 'aa11bb22cc33dd44ee55', 'WebApp01');
      const service = spawn('timeout', [String(RUN_BOUND_MS / 1000), 'bash', TICKET_READ_SCRIPT_SOURCE, String(GID)], {
        env: { PATH: process.env.PATH, GMSA_HOST_ROOT_DIR: root },
        stdio: 'ignore',
      });
      try {
        const granted = async () => {
          const started = Date.now();
          while (Date.now() - started < RUN_BOUND_MS && access(cache).mode !== 0o640) await sleep(50);
          return Date.now() - started;
        };
        await granted();
        expect(access(cache).gid).toBe(GID);

        const inode = fs.statSync(cache).ino;
        fakeKinitWrite(cache);
        expect(fs.statSync(cache).ino).not.toBe(inode);
        expect(access(cache).mode).toBe(0o600);
        const elapsed = await granted();
        expect(access(cache)).toEqual(expect.objectContaining({ mode: 0o640, gid: GID }));
        expect(elapsed).toBeLessThan(REGRANT_BOUND_MS);
        console.info(`re-granted ${elapsed} ms after a replacing write`);
      } finally {
        service.kill('SIGTERM');
      }
    });
  });

  describe('GIVEN the script without its pass over the caches (the check this test exists for)', () => {
    const text = fs.readFileSync(TICKET_READ_SCRIPT_SOURCE, 'utf8');
    const variant = text.replace(/^\s*grant 0640 read .*$/m, '');

    test('THEN the cache stays owner-only: the assertions above would fail', () => {
      expect(variant).not.toBe(text);
      const root = hostRoot();
      const cache = fakeCredentialsFetcherLease(root, 'domain-joined', 'ffeeddccbbaa99887766', 'WebApp01');
      const script = path.join(root, 'variant.sh');
      fs.writeFileSync(script, variant);
      expect(runOnce(root, [String(GID), '--once'], script).status).toBe(0);
      expect(access(cache).mode).toBe(0o600);
    });
  });

  describe('GIVEN no lease yet (credentials-fetcher has not made krbdir)', () => {
    test('THEN a pass does nothing and succeeds', () => {
      const root = hostRoot();
      const run = runOnce(root);
      expect(run.status).toBe(0);
      expect(run.stderr).toBe('');
    });
  });

  test.each([[[]], [['0']], [['root']], [['-1']], [['1654;reboot']]])('fails GIVEN arguments %j', (args) => {
    const run = runOnce(hostRoot(), args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('usage:');
  });

  describeAsRoot('GIVEN root, caches written by the real MIT kinit, and the container user UID/GID 1654', () => {
    const describeKdc = describeWithKdc;
    describeKdc('with a KDC on 127.0.0.1', () => {
      let realm: KdcRealm;
      beforeAll(async () => {
        realm = await KdcRealm.create({ lifetimeSeconds: 60 });
        realm.addUser('WebApp01', 'gmsa-password-1');
      });
      afterAll(() => realm?.dispose());

      /** `kinit -c cache WebApp01` with the password on stdin, as credentials-fetcher runs it. */
      function kinit(cache: string): void {
        const result = spawnSync('kinit', ['-c', cache, 'WebApp01'], {
          input: 'gmsa-password-1\n',
          env: { ...process.env, ...realm.env },
          encoding: 'utf8',
          timeout: RUN_BOUND_MS,
        });
        expect(result.status).toBe(0);
      }

      test('THEN only UID 1654 (and root) reads the cache, before and after a renewal that replaces it', () => {
        const root = hostRoot();
        const cache = fakeCredentialsFetcherLease(root, 'domainless', '0123456789abcdef0123', 'WebApp01');
        kinit(cache);
        // The real kinit leaves what the fake leaves: root:root 0600, unreadable to the app.
        expect(access(cache)).toEqual({ mode: 0o600, uid: 0, gid: 0 });
        expect(readAs(DOTNET_APP_UID, cache)).toBe(false);

        expect(runOnce(root).status).toBe(0);
        expect(readAs(DOTNET_APP_UID, cache)).toBe(true);
        expect(readAs(DOTNET_APP_UID + 1, cache)).toBe(false);
        const listed = spawnSync(
          'setpriv',
          ['--reuid', '1654', '--regid', '1654', '--clear-groups', 'klist', '-c', cache],
          // No KRB5_CONFIG: the realm's directory is root's; klist needs no configuration to read a cache.
          { encoding: 'utf8', env: { PATH: process.env.PATH } },
        );
        expect(listed.stdout).toContain('Default principal: WebApp01@');

        const inode = fs.statSync(cache).ino;
        kinit(cache);
        expect(fs.statSync(cache).ino).not.toBe(inode);
        expect(access(cache)).toEqual({ mode: 0o600, uid: 0, gid: 0 });
        expect(readAs(DOTNET_APP_UID, cache)).toBe(false);

        expect(runOnce(root).status).toBe(0);
        expect(readAs(DOTNET_APP_UID, cache)).toBe(true);
        expect(readAs(DOTNET_APP_UID + 1, cache)).toBe(false);
      });

      test('THEN a default ACL on the directory would not have done it: kinit masks it (why the service exists)', () => {
        if (spawnSync('bash', ['-c', 'command -v setfacl']).status !== 0) return; // the acl package is optional here
        const root = hostRoot();
        const cache = fakeCredentialsFetcherLease(root, 'domainless', '1111222233334444aaaa', 'WebApp01');
        const dir = path.dirname(cache);
        spawnSync('chgrp', [String(DOTNET_APP_UID), dir, path.dirname(dir)]);
        spawnSync('chmod', ['0710', dir, path.dirname(dir)]);
        expect(spawnSync('setfacl', ['-d', '-m', `g:${DOTNET_APP_UID}:r`, dir]).status).toBe(0);
        fs.rmSync(cache);
        kinit(cache);
        expect(readAs(DOTNET_APP_UID, cache)).toBe(false);
      });
    });
  });
});
