import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { createClients } from '../../verify/clients';
import './helpers';

let server: Server;
let requests = 0;

beforeAll(async () => {
  // An endpoint that accepts every request and never answers.
  server = createServer(() => {
    requests++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('AWS clients', () => {
  test('give up on a request that gets no answer within the request timeout, after one retry', async () => {
    // GIVEN clients pointed at an endpoint that never answers, with a 300 ms request timeout
    const port = (server.address() as AddressInfo).port;
    const clients = createClients(
      'us-east-1',
      { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      { endpoint: `http://127.0.0.1:${port}`, requestTimeoutMs: 300 },
    );
    const started = Date.now();
    // WHEN a call is made THEN it fails with a timeout, well before any default would
    await expect(clients.ssm.send(new GetParameterCommand({ Name: '/x' }))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(requests).toBe(2);
  });
});
