import { outputOf, stackOf } from '../deployment';
import { Check, CheckContext, CheckOutcome, fail, pass, skip } from '../types';
import { NO_APPLICATION } from './service';

/** `GET /api/status` of the web app (contract 7); no secrets in it. */
interface AppStatus {
  readonly ok?: boolean;
  readonly authScheme?: string;
  readonly login?: string;
  readonly server?: string;
  readonly database?: string;
  readonly ticketCache?: { readonly state?: string; readonly location?: string };
  readonly cause?: string;
  /**
   * The TLS channel to SQL Server: SQL Server's encrypt_option (null when unreadable) and whether the client verified
   * the certificate. Absent from apps built before it (an older APP_IMAGE).
   */
  readonly channel?: {
    readonly encrypted?: boolean | null;
    readonly encryptMode?: string;
    readonly certificateVerified?: boolean;
    readonly certificateHostName?: string;
  } | null;
}

/** TLS errors of a certificate that does not name the host asked for (Node's `tls.checkServerIdentity`). */
const TLS_NAME_ERRORS: ReadonlySet<string> = new Set(['ERR_TLS_CERT_ALTNAME_INVALID']);

/** The end of the chain: the app's own SQL session reports KERBEROS (sys.dm_exec_connections.auth_scheme). */
export const pageCheck: Check = {
  id: 'page',
  title: 'The page',
  description: 'ServiceURL/api/status answers 200 with authScheme KERBEROS over a verified TLS channel',
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    if (!stackOf(ctx, 'application')) return skip(NO_APPLICATION);
    const url = `${outputOf(ctx, 'application', 'ServiceURL').replace(/\/+$/, '')}/api/status`;
    let response: Response;
    try {
      response = await fetch(url, {
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.pageTimeoutMs)]),
        headers: { accept: 'application/json' },
      });
    } catch (error) {
      // An abort rejects with a DOMException, which is not an Error subclass in Node 20: read its name directly.
      const { name, message, cause } = error as { name?: string; message?: string; cause?: { code?: string } };
      const reason =
        name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${ctx.pageTimeoutMs} ms` : message;
      // Node's fetch rejects with "fetch failed" and the TLS error as its cause. With CERTIFICATE_ARN the ServiceURL
      // is https://<load balancer DNS name>, a name the certificate does not hold.
      if (url.startsWith('https:') && cause?.code !== undefined && TLS_NAME_ERRORS.has(cause.code)) {
        return fail(
          `GET ${url}: ${reason} (${cause.code})`,
          "the certificate (CERTIFICATE_ARN) does not name the load balancer's DNS name: point a DNS name of the " +
            'certificate at it (CNAME or alias) and open https://<that name>/api/status (docs/security.md, HTTPS).',
        );
      }
      return fail(
        `GET ${url}: ${reason}`,
        'the load balancer only admits MY_SG_INGRESS_IP when it is set; check your address, then the targets.',
      );
    }
    const body = await response.text();
    if (response.status !== 200) {
      return fail(`GET ${url}: HTTP ${response.status}`, 'see "Load balancer targets" and the app log.');
    }
    let status: AppStatus;
    try {
      status = JSON.parse(body) as AppStatus;
    } catch {
      return fail(`GET ${url}: not JSON`, 'deploy the current web app (its /api/status answers JSON).');
    }
    if (status.authScheme !== 'KERBEROS' || status.ok !== true) {
      const cache = status.ticketCache ? `, ticket cache ${status.ticketCache.state ?? '?'}` : '';
      const cause = status.cause ? `: ${status.cause}` : '';
      return fail(
        `authScheme ${status.authScheme ?? 'none'}${cache}${cause}`,
        'NTLM: the server name is not <DBInstanceIdentifier>.<DirectoryName>; no ticket: see "Container instances", ' +
          'the CredSpec and the gMSA principals group (README Troubleshooting).',
      );
    }
    const who = `KERBEROS as ${status.login ?? '?'} on ${status.server ?? '?'}`;
    const channel = status.channel;
    if (channel == null) return pass(`${who} (the app does not report its TLS channel: an older image)`);
    if (channel.encrypted === false || channel.certificateVerified !== true) {
      return fail(
        `${who}, but the channel is ${channel.encrypted === false ? 'not encrypted' : 'encrypted without verifying the certificate'} ` +
          `(Encrypt=${channel.encryptMode ?? '?'})`,
        'the connection string must have Encrypt=Mandatory, TrustServerCertificate=false and HostNameInCertificate=<RDS ' +
          'endpoint>, and the instance rds.force_ssl=1 (docs/security.md, "TLS to SQL Server").',
      );
    }
    return pass(`${who}, TLS verified against ${channel.certificateHostName ?? '?'}`);
  },
};
