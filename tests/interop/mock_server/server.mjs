// node oauth2-mock-server for tornado_alf's discovery interop test.
//
// Its metadata lists token_endpoint_auth_methods_supported: ["none"] while its token endpoint
// takes any request; to prove which method the client used, this wrapper accepts a
// client_credentials request only with HTTP Basic carrying the client id and secret read as one
// JSON object on stdin ({ "client_id": ..., "client_secret": ... }), and answers 401
// invalid_client otherwise.
// Listens on 127.0.0.1 port 0 and prints ONE line of JSON on stdout once it accepts requests:
//   { "issuer": "http://127.0.0.1:<port>" }
// Runs until it is killed. Errors go to stderr.
import basicAuth from 'basic-auth';
import { OAuth2Server } from 'oauth2-mock-server';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function main() {
  const client = await readStdin();
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  server.service.on('beforeResponse', (response, req) => {
    if (req.body.grant_type !== 'client_credentials') return;
    const credentials = basicAuth(req);
    if (!credentials || credentials.name !== client.client_id || credentials.pass !== client.client_secret) {
      response.statusCode = 401;
      response.body = { error: 'invalid_client', error_description: 'HTTP Basic with the client credentials expected' };
    }
  });
  await server.start(0, '127.0.0.1');
  // The library names the loopback "localhost": keep every request on 127.0.0.1.
  server.issuer.url = `http://127.0.0.1:${server.address().port}`;
  process.on('SIGTERM', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ issuer: server.issuer.url })}\n`);
}

main().catch((err) => {
  process.stderr.write(`mock server failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
