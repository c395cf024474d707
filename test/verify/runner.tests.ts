import { runChecks } from '../../verify/runner';
import { Check, CheckFailure, pass } from '../../verify/types';
import { awsError, makeContext } from './helpers';

const check = (id: string, run: Check['run']): Check => ({ id, title: `Check ${id}`, description: id, run });

describe('runner', () => {
  test('runs every check in order and turns thrown errors into failures with a fix', async () => {
    const results = await runChecks(makeContext(), [
      check('a', async () => pass('fine')),
      check('b', async () => {
        throw new CheckFailure('stack x has no output Y', 'finish deploying x');
      }),
      check('c', async () => {
        throw awsError('AccessDeniedException', 'not authorized to perform ds:DescribeDirectories\nmore');
      }),
      check('d', async () => {
        throw awsError('ThrottlingException', 'Rate exceeded');
      }),
    ]);
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['a', 'pass'],
      ['b', 'fail'],
      ['c', 'fail'],
      ['d', 'fail'],
    ]);
    expect(results[1]).toMatchObject({ detail: 'stack x has no output Y', fix: 'finish deploying x' });
    expect(results[2].detail).toBe('AccessDeniedException: not authorized to perform ds:DescribeDirectories');
    expect(results[2].fix).toContain('read access');
  });

  test('fails a check still running when the run is out of time, and the checks after it', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const results = await runChecks(makeContext({}, undefined, { signal: controller.signal }), [
      check('hangs', () => new Promise(() => undefined)),
      check('after', async () => pass('never run')),
    ]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(results.map((r) => r.status)).toEqual(['fail', 'fail']);
    expect(results[0].detail).toContain("run's time was up");
  });
});
