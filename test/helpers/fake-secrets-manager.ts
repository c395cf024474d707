import { createHash, createHmac, timingSafeEqual } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

/**
 * A fake of the two AWS endpoints the sidecar's `secretsmanager:` source calls, on 127.0.0.1:
 *
 * - the ECS container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`
 *   stand in for the relative URI on 169.254.170.2): it answers `{AccessKeyId, SecretAccessKey, Token, Expiration}`
 *   and refuses a request without the token, as the ECS agent's endpoint does (401);
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
 * - Secrets Manager's JSON API: `POST /` with `X-Amz-Target: secretsmanager.GetSecretValue`. As the real service, it
 *   refuses a request whose Signature Version 4 does not verify (IncompleteSignatureException /
 *   InvalidSignatureException), whose session token is not the one issued (UnrecognizedClientException), whose scope is
 *   not this region and service, and a SecretId that is not the secret's ARN (ResourceNotFoundException). It serves the
 *   AWSCURRENT version's SecretString, which the test may change (a rotation's finishSecret).
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 *   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
 */
export class FakeSecretsManager {
  public readonly accessKeyId = 'ASIAFAKEFAKEFAKEFAKE';
  public readonly secretAccessKey = 'fake/Secret+Access/Key0123456789abcdefghij';
  public readonly sessionToken = 'FwoGZXIvYXdzEFAKE//session+token=';
  public readonly authorizationToken = 'container-credentials-token';
  /** The SecretString of AWSCURRENT. */
  public secretString = '';
  /** Each GetSecretValue answered, with its HTTP status. */
  public readonly calls: { target: string; status: number; error?: string }[] = [];

  private constructor(
    private readonly server: http.Server,
    public readonly region: string,
    public readonly secretArn: string,
  ) {}

  public static async start(region: string, secretArn: string): Promise<FakeSecretsManager> {
    const server = http.createServer();
    const fake = new FakeSecretsManager(server, region, secretArn);
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => fake.handle(request, Buffer.concat(chunks), response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  private get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The sidecar's environment for this fake. */
  public get env(): Record<string, string> {
    return {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${this.port}/v2/credentials/task`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: this.authorizationToken,
      SECRETS_MANAGER_ENDPOINT: `http://127.0.0.1:${this.port}/`,
      SECRET_SOURCE: `secretsmanager:${this.secretArn}`,
    };
  }

  public close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: http.IncomingMessage, body: Buffer, response: http.ServerResponse): void {
    if (request.method === 'GET' && request.url === '/v2/credentials/task') {
      if (request.headers.authorization !== this.authorizationToken) {
        response.writeHead(401).end();
        return;
      }
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          AccessKeyId: this.accessKeyId,
          SecretAccessKey: this.secretAccessKey,
          Token: this.sessionToken,
          Expiration: new Date(Date.now() + 3600_000).toISOString(),
        }),
      );
      return;
    }
    const target = String(request.headers['x-amz-target'] ?? '');
    const fail = (status: number, type: string, message: string): void => {
      this.calls.push({ target, status, error: type });
      response
        .writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' })
        .end(JSON.stringify({ __type: type, message }));
    };
    if (request.method !== 'POST' || request.url !== '/') {
      fail(404, 'UnknownOperationException', 'not found');
      return;
    }
    const signatureError = this.verifySignature(request, body);
    if (signatureError) {
      fail(signatureError.status, signatureError.type, signatureError.message);
      return;
    }
    if (target !== 'secretsmanager.GetSecretValue') {
      fail(400, 'UnknownOperationException', `unsupported target ${target}`);
      return;
    }
    let secretId: unknown;
    try {
      secretId = (JSON.parse(body.toString('utf8')) as { SecretId?: unknown }).SecretId;
    } catch {
      fail(400, 'SerializationException', 'body is not JSON');
      return;
    }
    if (secretId !== this.secretArn) {
      fail(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      return;
    }
    this.calls.push({ target, status: 200 });
    response.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' }).end(
      JSON.stringify({
        ARN: this.secretArn,
        Name: 'identity',
        SecretString: this.secretString,
        VersionId: 'v1',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Date.now() / 1000,
      }),
    );
  }

  /** SigV4 as AWS checks it: the canonical request rebuilt from the signed headers, HMAC chain from the secret key. */
  private verifySignature(
    request: http.IncomingMessage,
    body: Buffer,
  ): { status: number; type: string; message: string } | undefined {
    const authorization = String(request.headers.authorization ?? '');
    const match =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
        authorization,
      );
    if (!match) {
      return { status: 400, type: 'IncompleteSignatureException', message: `bad Authorization: ${authorization}` };
    }
    const [, accessKey, day, region, service, signedHeaders, signature] = match;
    const amzDate = String(request.headers['x-amz-date'] ?? '');
    const headerNames = signedHeaders.split(';');
    if (accessKey !== this.accessKeyId || request.headers['x-amz-security-token'] !== this.sessionToken) {
      return {
        status: 400,
        type: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      };
    }
    if (region !== this.region || service !== 'secretsmanager' || !amzDate.startsWith(day)) {
      return { status: 400, type: 'InvalidSignatureException', message: `Credential should be scoped correctly` };
    }
    if (!['host', 'x-amz-date'].every((name) => headerNames.includes(name))) {
      return { status: 400, type: 'InvalidSignatureException', message: 'host and x-amz-date must be signed' };
    }
    const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
    const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
    const canonicalHeaders = headerNames
      .map(
        (name) =>
          `${name}:${String(request.headers[name] ?? '')
            .trim()
            .replace(/\s+/g, ' ')}\n`,
      )
      .join('');
    const canonicalRequest = [request.method, '/', '', canonicalHeaders, signedHeaders, sha256(body)].join('\n');
    const scope = `${day}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
    let key = hmac(`AWS4${this.secretAccessKey}`, day);
    for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
    const expected = createHmac('sha256', key).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      return {
        status: 403,
        type: 'InvalidSignatureException',
        message: 'The request signature we calculated does not match the signature you provided.',
      };
    }
    return undefined;
  }
}
