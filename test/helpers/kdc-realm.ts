import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** The tools of Debian's krb5-kdc, krb5-admin-server and krb5-user that a realm needs. */
const TOOLS = [
  '/usr/sbin/krb5kdc',
  '/usr/sbin/kdb5_util',
  '/usr/sbin/kadmin.local',
  '/usr/bin/kinit',
  '/usr/bin/klist',
];

/** True when the MIT Kerberos tools are installed. */
export const kdcInstalled = TOOLS.every((tool) => fs.existsSync(tool));

/**
 * `describe` when the KDC packages are installed; in CI (CI=true) always, so that a missing package fails the tests
 * instead of hiding them (as web-app/tests' KdcFact does).
 */
export const describeWithKdc = kdcInstalled || process.env.CI === 'true' ? describe : describe.skip;

/** The realm's name (the AD domain's DNS name in capitals, as for a directory). */
export const REALM = 'GMSA.TEST';

/**
 * A throwaway MIT Kerberos realm on 127.0.0.1, the TypeScript twin of web-app/tests' KdcRealm: its own krb5.conf and
 * kdc.conf in a temporary directory (KRB5_CONFIG, KRB5_KDC_PROFILE), a krb5kdc on a free port that stops by itself
 * after `lifetimeSeconds` if nobody stops it. It can be stopped and started again on the same port and database (a
 * directory that is down, then back).
 */
export class KdcRealm {
  private kdc?: ChildProcess;

  private constructor(
    /** The temporary directory holding the configuration and the database. */
    public readonly directory: string,
    public readonly port: number,
    private readonly lifetimeSeconds: number,
  ) {}

  /** KRB5_CONFIG for clients (kinit, klist, the sidecar, the app). */
  public get krb5Conf(): string {
    return path.join(this.directory, 'krb5.conf');
  }

  /** The environment the Kerberos tools need to use this realm. */
  public get env(): Record<string, string> {
    return { KRB5_CONFIG: this.krb5Conf, KRB5_KDC_PROFILE: path.join(this.directory, 'kdc.conf') };
  }

  /** Creates the realm and starts its KDC. `maxLife` caps every ticket (kdc.conf `max_life`). */
  public static async create(options: { maxLife?: string; lifetimeSeconds?: number } = {}): Promise<KdcRealm> {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'kdc-'));
    const port = await freePort();
    fs.writeFileSync(
      path.join(directory, 'krb5.conf'),
      [
        '[libdefaults]',
        `    default_realm = ${REALM}`,
        '    dns_lookup_kdc = false',
        '    dns_lookup_realm = false',
        '    rdns = false',
        '    dns_canonicalize_hostname = false',
        // A KDC that is down must fail fast: one try per address, a short wait.
        '    max_retries = 1',
        '    kdc_timeout = 1s',
        '[realms]',
        `    ${REALM} = {`,
        `        kdc = 127.0.0.1:${port}`,
        '    }',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(directory, 'kdc.conf'),
      [
        '[kdcdefaults]',
        `    kdc_ports = ${port}`,
        `    kdc_tcp_ports = ${port}`,
        '[realms]',
        `    ${REALM} = {`,
        `        database_name = ${directory}/principal`,
        `        key_stash_file = ${directory}/stash`,
        `        acl_file = ${directory}/kadm5.acl`,
        `        max_life = ${options.maxLife ?? '1h'}`,
        '    }',
        '[logging]',
        `    kdc = FILE:${directory}/kdc.log`,
        '',
      ].join('\n'),
    );
    const realm = new KdcRealm(directory, port, options.lifetimeSeconds ?? 120);
    try {
      realm.run('/usr/sbin/kdb5_util', ['-r', REALM, 'create', '-s', '-P', 'throwaway-master-key']);
      await realm.start();
    } catch (error) {
      realm.dispose();
      throw error;
    }
    return realm;
  }

  /** Adds a user principal with a password. */
  public addUser(name: string, password: string): void {
    this.run('/usr/sbin/kadmin.local', ['-r', REALM, '-q', `addprinc -pw ${password} ${name}`]);
  }

  /** Changes a user's password, as a reset in the directory does (the old one stops working at once). */
  public changePassword(name: string, password: string): void {
    this.run('/usr/sbin/kadmin.local', ['-r', REALM, '-q', `cpw -pw ${password} ${name}`]);
  }

  /** Starts the KDC (again) and waits until it accepts TCP on its port (bounded). */
  public async start(): Promise<void> {
    // `timeout` bounds the KDC's life even if the test process dies without stopping it.
    const kdc = spawn('timeout', [String(this.lifetimeSeconds), '/usr/sbin/krb5kdc', '-n', '-r', REALM], {
      env: { ...process.env, ...this.env },
      stdio: 'ignore',
    });
    this.kdc = kdc;
    for (let attempt = 0; attempt < 50; attempt++) {
      if (kdc.exitCode !== null) break;
      if (await accepts(this.port)) return;
      await sleep(100);
    }
    throw new Error(`krb5kdc did not start on port ${this.port}: ${this.log()}`);
  }

  /** Stops the KDC and waits until its port refuses connections. */
  public async stop(): Promise<void> {
    const kdc = this.kdc;
    this.kdc = undefined;
    if (!kdc || kdc.exitCode !== null) return;
    const exited = new Promise((resolve) => kdc.once('exit', resolve));
    kdc.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    for (let attempt = 0; attempt < 50 && (await accepts(this.port)); attempt++) await sleep(100);
  }

  /** The KDC's log. */
  public log(): string {
    const file = path.join(this.directory, 'kdc.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  /** Stops the KDC and deletes the realm. */
  public dispose(): void {
    // SIGTERM: `timeout` passes it on to krb5kdc (a SIGKILL would leave krb5kdc running without its parent).
    this.kdc?.kill('SIGTERM');
    this.kdc = undefined;
    fs.rmSync(this.directory, { recursive: true, force: true });
  }

  private run(tool: string, args: string[]): void {
    const result = spawnSync(tool, args, {
      env: { ...process.env, ...this.env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (result.status !== 0) {
      throw new Error(`${tool} ${args.join(' ')} exited with ${result.status}: ${result.stdout}${result.stderr}`);
    }
  }
}

/** A TCP port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
