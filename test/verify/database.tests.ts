import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { databaseCheck } from '../../verify/checks/database';
import { clientMock, DIRECTORY_ID, makeContext } from './helpers';

const rds = clientMock(RDSClient);

function given(status: string, membership?: string): void {
  rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'amazon-ecs-gmsa-linux-sql' }).resolves({
    DBInstances: [
      {
        DBInstanceIdentifier: 'amazon-ecs-gmsa-linux-sql',
        DBInstanceStatus: status,
        DomainMemberships: membership ? [{ Domain: DIRECTORY_ID, Status: membership }] : [],
      },
    ],
  });
}

beforeEach(() => rds.reset());

describe('SQL Server check', () => {
  test('passes when available and joined to the directory', async () => {
    given('available', 'joined');
    const outcome = await databaseCheck.run(makeContext());
    expect(outcome).toMatchObject({
      status: 'pass',
      detail: `amazon-ecs-gmsa-linux-sql available, joined to ${DIRECTORY_ID}`,
    });
  });

  test('fails while the instance is not available', async () => {
    given('modifying', 'joined');
    const outcome = await databaseCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('is modifying');
  });

  test('fails when the membership is not joined', async () => {
    given('available', 'pending-join');
    const outcome = await databaseCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('is pending-join');
  });

  test('fails when the instance is in no directory', async () => {
    given('available');
    const outcome = await databaseCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('is not a member of directory');
  });
});
