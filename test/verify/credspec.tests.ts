import { GetObjectCommand, GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { buildCredSpecTemplate, fillCredSpecTemplate } from '../../lib/constructs/credspec-document';
import { credSpecCheck } from '../../verify/checks/credspec';
import { awsError, clientMock, DOMAIN, IDENTITY_SECRET_ARN, makeContext } from './helpers';

const ssm = clientMock(SSMClient);
const s3 = clientMock(S3Client);

const SID = 'S-1-5-21-1111111111-2222222222-3333333333';
const GUID = '11111111-2222-3333-4444-555555555555';
const template = (domainless = true) =>
  buildCredSpecTemplate({
    gmsaName: 'SampleWebApp',
    dnsName: DOMAIN,
    netbiosName: 'DIRECTORY',
    domainlessCredentialArn: domainless ? IDENTITY_SECRET_ARN : undefined,
  });
const CREDSPEC = fillCredSpecTemplate(template(), SID, GUID);

/** The part of a GetObject Body the check reads. */
function body(text: string): GetObjectCommandOutput['Body'] {
  return { transformToString: async () => text } as unknown as GetObjectCommandOutput['Body'];
}

function givenCopies(parameter: string | undefined, object: string | undefined): void {
  if (parameter === undefined) ssm.on(GetParameterCommand).rejects(awsError('ParameterNotFound'));
  else
    ssm
      .on(GetParameterCommand, { Name: '/amazon-ecs-gmsa-linux/credspec' })
      .resolves({ Parameter: { Value: parameter } });
  if (object === undefined) s3.on(GetObjectCommand).rejects(awsError('NoSuchKey'));
  else
    s3.on(GetObjectCommand, { Bucket: 'credspec-bucket', Key: 'credspecs/SampleWebApp.json' }).resolves({
      Body: body(object),
    });
}

beforeEach(() => {
  ssm.reset();
  s3.reset();
});

describe('CredSpec check', () => {
  test('passes on EC2 when both copies exist, are valid and identical (pretty-printing aside)', async () => {
    givenCopies(CREDSPEC, JSON.stringify(JSON.parse(CREDSPEC), null, 2));
    const outcome = await credSpecCheck.run(makeContext());
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toContain('SSM parameter /amazon-ecs-gmsa-linux/credspec = s3://credspec-bucket/');
  });

  test('passes on Fargate with the S3 copy only', async () => {
    givenCopies(undefined, CREDSPEC);
    const outcome = await credSpecCheck.run(makeContext({ fargate: true, credSpecFromS3: true }));
    expect(outcome.status).toBe('pass');
  });

  test('passes in domain-joined mode without HostAccountConfig', async () => {
    const joined = fillCredSpecTemplate(template(false), SID, GUID);
    givenCopies(joined, joined);
    const outcome = await credSpecCheck.run(makeContext({ domainJoinEcs: true }));
    expect(outcome.status).toBe('pass');
  });

  test('fails on EC2 when the SSM copy is missing, pointing at the bastion log', async () => {
    givenCopies(undefined, CREDSPEC);
    const outcome = await credSpecCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toBe('no CredSpec at SSM parameter /amazon-ecs-gmsa-linux/credspec');
    expect(outcome.fix).toContain('aws logs tail /bastion-log');
  });

  test('fails on Fargate when the S3 copy is missing', async () => {
    givenCopies(CREDSPEC, undefined);
    const outcome = await credSpecCheck.run(makeContext({ fargate: true, credSpecFromS3: true }));
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('no CredSpec at s3://credspec-bucket/credspecs/SampleWebApp.json');
  });

  test('fails when a copy still holds the SID placeholder', async () => {
    givenCopies(template(), CREDSPEC);
    const outcome = await credSpecCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('still holds the placeholder "__DOMAIN_SID__"');
  });

  test('fails when a copy still holds the parameter placeholder of older deployments', async () => {
    givenCopies('placeholder: the bastion writes the CredSpec here during cdk deploy', CREDSPEC);
    const outcome = await credSpecCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('placeholder');
  });

  test('fails on text that is not JSON', async () => {
    givenCopies('{"CmsPlugins":', CREDSPEC);
    const outcome = await credSpecCheck.run(makeContext());
    expect(outcome.detail).toContain('is not valid JSON');
  });

  test('fails when the CredSpec names another gMSA or another domain', async () => {
    givenCopies(CREDSPEC.replace(/"MachineAccountName":"SampleWebApp"/, '"MachineAccountName":"Other"'), CREDSPEC);
    expect((await credSpecCheck.run(makeContext())).detail).toContain('names the gMSA "Other"');
    ssm.reset();
    givenCopies(CREDSPEC.replace(/"DnsName":"[^"]+"/, '"DnsName":"other.example.com"'), CREDSPEC);
    expect((await credSpecCheck.run(makeContext())).detail).toContain('names the domain "other.example.com"');
  });

  test('fails in domainless mode when PluginInput is the Windows string form', async () => {
    const windows = CREDSPEC.replace(
      /"PluginInput":\{[^}]*\}/,
      `"PluginInput":${JSON.stringify(JSON.stringify({ credentialArn: IDENTITY_SECRET_ARN }))}`,
    );
    givenCopies(windows, windows);
    const outcome = await credSpecCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('PluginInput.CredentialArn');
  });

  test('fails when the two copies differ', async () => {
    const other = fillCredSpecTemplate(template(), 'S-1-5-21-9-9-9', GUID);
    givenCopies(CREDSPEC, other);
    const outcome = await credSpecCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('differ');
  });
});
