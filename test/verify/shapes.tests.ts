import { buildCredSpecTemplate, fillCredSpecTemplate } from '../../lib/constructs/credspec-document';
import { problemOf } from '../../verify/checks/credspec';
import { DOMAIN, IDENTITY_SECRET_ARN } from './helpers';

/*
 * A stored CredSpec is whatever someone last put in the parameter or object: the check reads JSON of any shape and
 * answers with a problem, never with a TypeError from reading into a value that is not what it expected.
 */

const CREDSPEC = JSON.parse(
  fillCredSpecTemplate(
    buildCredSpecTemplate({
      gmsaName: 'SampleWebApp',
      dnsName: DOMAIN,
      netbiosName: 'DIRECTORY',
      domainlessCredentialArn: IDENTITY_SECRET_ARN,
    }),
    'S-1-5-21-1111111111-2222222222-3333333333',
    '11111111-2222-3333-4444-555555555555',
  ),
);

/** The CredSpec with GroupManagedServiceAccounts replaced. */
function withAccounts(accounts: unknown): string {
  return JSON.stringify({
    ...CREDSPEC,
    ActiveDirectoryConfig: { ...CREDSPEC.ActiveDirectoryConfig, GroupManagedServiceAccounts: accounts },
  });
}

describe('CredSpec check: GroupManagedServiceAccounts of another shape', () => {
  test.each([
    ['an object instead of a list', { Name: 'SampleWebApp', Scope: DOMAIN }],
    ['a string', 'SampleWebApp'],
    ['an empty list', []],
  ])('fails on %s', (_case, accounts) => {
    expect(problemOf(withAccounts(accounts), DOMAIN, true)).toBe(
      'has no GroupManagedServiceAccounts entry for SampleWebApp',
    );
  });

  test('passes a list with a null entry beside the gMSA', () => {
    expect(problemOf(withAccounts([null, { Name: 'SampleWebApp', Scope: DOMAIN }]), DOMAIN, true)).toBeUndefined();
  });
});

describe('CredSpec check: DomainJoinConfig values of another type', () => {
  const withJoin = (join: unknown) => JSON.stringify({ ...CREDSPEC, DomainJoinConfig: join });

  test('fails on a null DomainJoinConfig', () => {
    expect(problemOf(withJoin(null), DOMAIN, true)).toBe('has no DomainJoinConfig');
  });

  // A one-element list reads like its element where it is turned into text (a regular expression's test does that).
  test.each([
    ['Sid', 'has no domain SID'],
    ['Guid', 'has no domain GUID'],
  ])('fails on a %s given as a list holding a valid value', (key, problem) => {
    const join = CREDSPEC.DomainJoinConfig;
    expect(problemOf(withJoin({ ...join, [key]: [join[key]] }), DOMAIN, true)).toBe(problem);
  });
});
