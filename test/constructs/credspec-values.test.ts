import { buildCredSpecTemplate, fillCredSpecTemplate } from '../../lib/constructs/credspec-document';

/*
 * The SID and GUID that fill the CredSpec come from Get-ADDomain on the bastion and are pasted into a JSON string
 * without escaping: the whole value must look like a domain SID or a GUID, so that nothing before or after the
 * expected form (a quote, a brace) can add keys to the CredSpec credentials-fetcher reads.
 */

const SID = 'S-1-5-21-1004336348-1177238915-682003330';
const GUID = '5f1c2c0e-4a7b-4f3e-9a51-0b8a2b7c9d10';
const TEMPLATE = buildCredSpecTemplate({
  gmsaName: 'SampleWebApp',
  dnsName: 'directory.amazon-ecs-gmsa-linux.com',
  netbiosName: 'DIRECTORY',
});

describe('CredSpec values: accepted forms', () => {
  test.each([
    ['the usual domain SID', SID, GUID],
    ['one-digit sub-authorities', 'S-1-5-21-1-2-3', GUID],
    ['a GUID in capitals (Windows prints either case)', SID, GUID.toUpperCase()],
  ])('GIVEN %s THEN both are filled in as they are', (_case, sid, guid) => {
    // WHEN
    const domainJoinConfig = JSON.parse(fillCredSpecTemplate(TEMPLATE, sid, guid)).DomainJoinConfig;

    // THEN
    expect(domainJoinConfig).toMatchObject({ Sid: sid, Guid: guid });
  });
});

describe('CredSpec values: anything around the expected form is refused', () => {
  test.each([
    ['text before the SID', `","Injected":"${SID}`],
    ['text after the SID', `${SID}","Injected":"`],
    ['a well-known SID', 'S-1-5-32-544'],
    ['a SID with four sub-authorities after 21', `${SID}-500`],
  ])('fails to fill GIVEN %s, naming the value', (_case, sid) => {
    expect(() => fillCredSpecTemplate(TEMPLATE, sid, GUID)).toThrow(`"${sid}" is not a domain SID (S-1-5-21-x-y-z).`);
  });

  test.each([
    ['text before the GUID', `","Injected":"${GUID}`],
    ['text after the GUID', `${GUID}","Injected":"`],
    ['a GUID in braces', `{${GUID}}`],
    ['a GUID without dashes', GUID.replace(/-/g, '')],
  ])('fails to fill GIVEN %s, naming the value', (_case, guid) => {
    expect(() => fillCredSpecTemplate(TEMPLATE, SID, guid)).toThrow(`"${guid}" is not a GUID.`);
  });
});
