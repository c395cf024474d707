import { createServer, Server } from 'node:http';
import { AddressInfo, createServer as createTcpServer, Socket } from 'node:net';
import { pageCheck } from '../../verify/checks/page';
import { closedPort, contextWithServiceUrl, makeContext } from './helpers';

/** What the fake web app answers next: status and body, or nothing at all (hang). */
let answer: { status: number; body: string } | 'hang' = { status: 200, body: '{}' };
let requestedPath = '';
let requestedAccept = '';
let server: Server;
let baseUrl = '';

beforeAll(async () => {
  server = createServer((request, response) => {
    requestedPath = request.url ?? '';
    requestedAccept = request.headers.accept ?? '';
    if (answer === 'hang') return;
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function context() {
  return contextWithServiceUrl(baseUrl);
}

const status = (authScheme: string, extra: Record<string, unknown> = {}) => ({
  status: 200,
  body: JSON.stringify({
    ok: authScheme === 'KERBEROS',
    authScheme,
    login: 'DIRECTORY\\SampleWebApp$',
    server: 'amazon-ecs-gmsa-linux-sql',
    database: 'Chinook',
    ticketCache: { state: 'valid', location: '/var/credentials-fetcher/krbdir/krb5cc' },
    cause: null,
    ...extra,
  }),
});

describe('page check', () => {
  test('passes when /api/status reports KERBEROS', async () => {
    answer = status('KERBEROS');
    const outcome = await pageCheck.run(context());
    expect(requestedPath).toBe('/api/status');
    expect(outcome).toMatchObject({
      status: 'pass',
      detail:
        'KERBEROS as DIRECTORY\\SampleWebApp$ on amazon-ecs-gmsa-linux-sql (the app does not report its TLS channel: an older image)',
    });
  });

  test('passes with the TLS channel when the app reports it encrypted and verified', async () => {
    answer = status('KERBEROS', {
      channel: {
        encrypted: true,
        encryptMode: 'Mandatory',
        certificateVerified: true,
        certificateHostName: 'sql.x.rds.amazonaws.com',
      },
    });
    expect(await pageCheck.run(context())).toMatchObject({
      status: 'pass',
      detail:
        'KERBEROS as DIRECTORY\\SampleWebApp$ on amazon-ecs-gmsa-linux-sql, TLS verified against sql.x.rds.amazonaws.com',
    });
  });

  test.each([
    [
      { encrypted: true, encryptMode: 'Mandatory', certificateVerified: false },
      'encrypted without verifying the certificate (Encrypt=Mandatory)',
    ],
    [{ encrypted: false, encryptMode: 'Optional', certificateVerified: false }, 'not encrypted (Encrypt=Optional)'],
    [{ encrypted: false, encryptMode: 'Mandatory', certificateVerified: true }, 'not encrypted (Encrypt=Mandatory)'],
  ])('fails on KERBEROS over a channel that is not verified TLS: %j', async (channel, detail) => {
    answer = status('KERBEROS', { channel });
    const outcome = await pageCheck.run(context());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain(detail);
  });

  test('fails on NTLM, showing the ticket cache state and the cause', async () => {
    answer = status('NTLM', { ticketCache: { state: 'missing', location: '' }, cause: 'no Kerberos ticket' });
    const outcome = await pageCheck.run(context());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toBe('authScheme NTLM, ticket cache missing: no Kerberos ticket');
  });

  test('fails on an HTTP error', async () => {
    answer = { status: 502, body: 'Bad Gateway' };
    const outcome = await pageCheck.run(context());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('HTTP 502');
  });

  test('fails on an answer that is not JSON', async () => {
    answer = { status: 200, body: '<html>' };
    expect((await pageCheck.run(context())).detail).toContain('not JSON');
  });

  test('fails, bounded, when the page does not answer', async () => {
    answer = 'hang';
    const started = Date.now();
    const outcome = await pageCheck.run({ ...context(), pageTimeoutMs: 300 });
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('timed out');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('fails with the DNS hint when HTTPS reaches the load balancer under a name its certificate does not hold', async () => {
    // Node's fetch (undici) rejects with TypeError "fetch failed" whose cause is the TLS socket's error; a name the
    // certificate does not list is ERR_TLS_CERT_ALTNAME_INVALID (node:tls checkServerIdentity).
    const tlsError = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    const fetchSpy = jest
      .spyOn(globalThis, 'fetch')
      .mockRejectedValue(new TypeError('fetch failed', { cause: tlsError }));
    try {
      const outcome = await pageCheck.run(contextWithServiceUrl('https://alb.example.com'));
      expect(fetchSpy).toHaveBeenCalledWith('https://alb.example.com/api/status', expect.anything());
      expect(outcome).toMatchObject({
        status: 'fail',
        detail: 'GET https://alb.example.com/api/status: fetch failed (ERR_TLS_CERT_ALTNAME_INVALID)',
      });
      expect(outcome.fix).toContain('point a DNS name of the certificate at it');
    } finally {
      fetchSpy.mockRestore();
    }
  });

  test('asks for JSON at <ServiceURL>/api/status, however many slashes end the ServiceURL', async () => {
    answer = status('KERBEROS');
    expect((await pageCheck.run(contextWithServiceUrl(`${baseUrl}//`))).status).toBe('pass');
    expect([requestedPath, requestedAccept]).toEqual(['/api/status', 'application/json']);
  });

  test('an HTTP error points at the targets and the app log', async () => {
    answer = { status: 503, body: '' };
    expect((await pageCheck.run(context())).fix).toBe('see "Load balancer targets" and the app log.');
  });

  test('a channel without TLS names the connection string settings and rds.force_ssl, with "?" for what the app omits', async () => {
    answer = status('KERBEROS', { channel: { encrypted: false } });
    const outcome = await pageCheck.run(context());
    expect(outcome.detail).toMatch(/, but the channel is not encrypted \(Encrypt=\?\)$/);
    expect(outcome.fix).toBe(
      'the connection string must have Encrypt=Mandatory, TrustServerCertificate=false and HostNameInCertificate=<RDS ' +
        'endpoint>, and the instance rds.force_ssl=1 (docs/security.md, "TLS to SQL Server").',
    );
    answer = status('KERBEROS', { channel: { encrypted: true, certificateVerified: true } });
    expect((await pageCheck.run(context())).detail).toMatch(/, TLS verified against \?$/);
  });

  test('over HTTPS, a refused connection gets the network fix, not the certificate one', async () => {
    const outcome = await pageCheck.run(contextWithServiceUrl(`https://127.0.0.1:${await closedPort()}`));
    expect(outcome.status).toBe('fail');
    expect(outcome.fix).toContain('MY_SG_INGRESS_IP');
    expect(outcome.fix).not.toContain('CERTIFICATE_ARN');
  });

  test('over HTTPS, a load balancer that never completes the handshake fails as timed out (an abort has no cause)', async () => {
    // Accepts the TCP connection and never answers the TLS ClientHello.
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      expect(await pageCheck.run(contextWithServiceUrl(url, { pageTimeoutMs: 300 }))).toMatchObject({
        status: 'fail',
        detail: `GET ${url}/api/status: timed out after 300 ms`,
      });
      expect(sockets.length).toBeGreaterThan(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('is skipped without an application stack', async () => {
    const ctx = makeContext({ deployApp: false }, (stacks) => stacks.filter((s) => s.role !== 'application'));
    expect((await pageCheck.run(ctx)).status).toBe('skip');
  });
});
