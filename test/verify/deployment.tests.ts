import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DEFAULT_SETTINGS } from '../../lib/settings';
import { AwsClients, createClients } from '../../verify/clients';
import { loadDeployment, preflight } from '../../verify/deployment';
import { CannotCheckError } from '../../verify/types';
import { awsError, clientMock, SOLUTION_ID } from './helpers';

const cfn = clientMock(CloudFormationClient);
const clients = createClients('us-east-1', { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' });
const signal = new AbortController().signal;

function givenStacks(roles: string[]): void {
  cfn.on(DescribeStacksCommand).rejects(awsError('ValidationError', 'Stack with id x does not exist'));
  for (const role of roles) {
    cfn.on(DescribeStacksCommand, { StackName: `${SOLUTION_ID}-${role}` }).resolves({
      Stacks: [
        {
          StackName: `${SOLUTION_ID}-${role}`,
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [{ OutputKey: 'Key', OutputValue: role }],
        },
      ],
    });
  }
}

beforeEach(() => cfn.reset());

describe('loading the deployment', () => {
  test('reads each stack by the name lib/gmsa-app.ts gives it, with its outputs', async () => {
    givenStacks(['directory', 'database', 'cluster', 'application']);
    const deployment = await loadDeployment(clients, { ...DEFAULT_SETTINGS, deployApp: true }, 'us-east-1', signal);
    expect(deployment.stacks.map((s) => [s.name, s.status, s.outputs.Key])).toEqual([
      [`${SOLUTION_ID}-directory`, 'UPDATE_COMPLETE', 'directory'],
      [`${SOLUTION_ID}-database`, 'UPDATE_COMPLETE', 'database'],
      [`${SOLUTION_ID}-cluster`, 'UPDATE_COMPLETE', 'cluster'],
      [`${SOLUTION_ID}-application`, 'UPDATE_COMPLETE', 'application'],
    ]);
  });

  test('picks up the application stack without DEPLOY_APP, and goes on without it', async () => {
    givenStacks(['directory', 'database', 'cluster', 'application']);
    const withApp = await loadDeployment(clients, DEFAULT_SETTINGS, 'us-east-1', signal);
    expect(withApp.stacks.map((s) => s.role)).toContain('application');
    cfn.reset();
    givenStacks(['directory', 'database', 'cluster']);
    const withoutApp = await loadDeployment(clients, DEFAULT_SETTINGS, 'us-east-1', signal);
    expect(withoutApp.stacks.map((s) => s.role)).toEqual(['directory', 'database', 'cluster']);
  });

  test('fails with CannotCheckError naming the missing stack and the region', async () => {
    givenStacks(['directory']);
    await expect(loadDeployment(clients, DEFAULT_SETTINGS, 'eu-west-1', signal)).rejects.toThrow(
      new CannotCheckError(
        `Cannot check: stack ${SOLUTION_ID}-database not found in eu-west-1. Deploy it (README "Deploy"), or set ` +
          'SOLUTION_ID, DEPLOY_APP and AWS_REGION as you did for cdk deploy.',
      ),
    );
  });

  test('fails with CannotCheckError when CloudFormation refuses the caller', async () => {
    cfn.on(DescribeStacksCommand).rejects(awsError('AccessDenied', 'not authorized to perform DescribeStacks'));
    await expect(loadDeployment(clients, DEFAULT_SETTINGS, 'us-east-1', signal)).rejects.toBeInstanceOf(
      CannotCheckError,
    );
  });
});

describe('preflight', () => {
  test('returns the region', async () => {
    expect(await preflight(clients)).toBe('us-east-1');
  });

  test('gives up, bounded, on a credentials provider that never answers', async () => {
    const hanging = new CloudFormationClient({ region: 'us-east-1', credentials: () => new Promise(() => undefined) });
    const started = Date.now();
    await expect(preflight({ ...clients, cloudFormation: hanging } as AwsClients, 200)).rejects.toThrow(
      'Cannot check: finding AWS credentials took longer than 0.2 s.',
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
