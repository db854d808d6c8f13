// node oidc-provider for tornado_alf's interop tests.
//
// Reads one JSON object on stdin (written by tests/interop/conftest.py):
//   clients:   oidc-provider client metadata, as many as the tests need
//   resources: { "<resource indicator>": "<space separated scopes>" }
//   scopes:    scopes the provider knows (client_credentials drops the others)
//   tls:       optional { cert, key, ca } PEMs; adds an https listener that asks for a client
//              certificate (tls_client_auth, RFC 8705) and reports its origin as "mtls_origin";
//              clients with tls_client_certificate_bound_access_tokens get certificate-bound tokens
// DPoP (RFC 9449) is on, with nonces required of every DPoP proof; clients with
// dpop_bound_access_tokens must send one.
// Listens on 127.0.0.1 port 0 and prints ONE line of JSON on stdout once it accepts requests:
//   { "issuer": "http://127.0.0.1:<port>", "mtls_origin": "https://127.0.0.1:<port>" | null }
// Runs until it is killed. Errors go to stderr.
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

import Provider, { errors } from 'oidc-provider';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

// The signing key for JWT access tokens lives only in this process: the tests read the
// public half from jwks_uri like any resource server would.
function signingJwks() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'interop-rs256', alg: 'RS256', use: 'sig' }] };
}

function peerCertificate(ctx) {
  const cert = ctx.socket.getPeerX509Certificate?.();
  return cert ? cert.toString() : undefined;
}

function mtlsFeature() {
  return {
    enabled: true,
    tlsClientAuth: true,
    getCertificate: peerCertificate,
    certificateBoundAccessTokens: true,
    certificateAuthorized(ctx) {
      return ctx.socket.authorized === true;
    },
    certificateSubjectMatches(ctx, property, expected) {
      if (property !== 'tls_client_auth_san_dns') return false;
      const cert = new X509Certificate(peerCertificate(ctx));
      return (cert.subjectAltName ?? '').split(', ').includes(`DNS:${expected}`);
    },
  };
}

function configuration(config) {
  const resources = config.resources ?? {};
  return {
    clients: config.clients,
    scopes: config.scopes ?? [],
    jwks: signingJwks(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // RSA proofs too, so the tests can show each key type the client signs with.
    enabledJWA: { dPoPSigningAlgValues: ['ES256', 'EdDSA', 'RS256', 'PS256'] },
    clientAuthMethods: [
      'client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none',
      ...(config.tls ? ['tls_client_auth'] : []),
    ],
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
      mTLS: config.tls ? mtlsFeature() : { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (ctx, resourceIndicator) => {
          if (!(resourceIndicator in resources)) {
            throw new errors.InvalidTarget();
          }
          return {
            scope: resources[resourceIndicator],
            audience: resourceIndicator,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  };
}

async function main() {
  const config = await readStdin();
  const app = http.createServer();
  const port = await listen(app);
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration(config));
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
  app.on('request', provider.callback());

  let mtlsOrigin = null;
  if (config.tls) {
    const tlsServer = https.createServer({
      cert: config.tls.cert,
      key: config.tls.key,
      ca: config.tls.ca,
      requestCert: true,
      // oidc-provider decides (certificateAuthorized), so an unverified client reaches it
      // and gets an OAuth error instead of a TLS alert.
      rejectUnauthorized: false,
    });
    tlsServer.on('request', provider.callback());
    mtlsOrigin = `https://127.0.0.1:${await listen(tlsServer)}`;
  }

  process.on('SIGTERM', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ issuer, mtls_origin: mtlsOrigin })}\n`);
}

main().catch((err) => {
  process.stderr.write(`interop server failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
