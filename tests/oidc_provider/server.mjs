// The council's identity provider, as the test suite runs it: panva's oidc-provider, a
// certified OpenID Provider, with the one part every deployment writes itself, the sign-in
// page (users and passwords from the configuration file named on the command line).
//
// It speaks the real protocol: discovery, JWKS, the authorization code flow with PKCE (S256,
// required for every client), and ID tokens signed with keys made at start (RS256, ES256).
// It listens on 127.0.0.1 on a free port and prints one line, `issuer <url>`, once it answers.
//
// Configuration (JSON): {"clients": [{"client_id", "client_secret", "redirect_uris"}],
//                        "users": [{"username", "password", "email", "name"}]}

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const configuration = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = new Map(configuration.users.map((user) => [user.username, user]));

function signingKey(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg, use: 'sig' };
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function signInPage(uid, clientId, message) {
  const error = message ? `<p role="alert">${escape(message)}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Council sign-in</title></head>
<body><h1>Council sign-in</h1><p>Signing in to ${escape(clientId)}</p>${error}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>
<form method="post" action="/interaction/${escape(uid)}/abort">
<button type="submit">Cancel</button></form></body></html>`;
}

async function formOf(request) {
  let body = '';
  for await (const chunk of request) body += chunk;
  return new URLSearchParams(body);
}

function send(response, status, html) {
  response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  response.end(html);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: configuration.clients.map((client) => ({
      ...client,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: {
      keys: [
        signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
        signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
      ],
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { methods: ['S256'], required: () => true },
    features: { devInteractions: { enabled: false } },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    // Councils' providers (Entra ID, Keycloak) put the profile claims in the ID token too.
    conformIdTokenClaims: false,
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // careledger is the council's own service: its users are not asked to consent.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
    async findAccount(ctx, sub) {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            preferred_username: user.username,
            name: user.name,
            email: user.email,
            email_verified: Boolean(user.email),
          };
        },
      };
    },
  });
  const handle = provider.callback();

  server.on('request', async (request, response) => {
    const path = new URL(request.url, issuer).pathname;
    const match = path.match(/^\/interaction\/([^/]+)(\/login|\/abort)?$/);
    if (!match) {
      handle(request, response);
      return;
    }
    try {
      const details = await provider.interactionDetails(request, response);
      const clientId = details.params.client_id;
      if (!match[2] && request.method === 'GET') {
        send(response, 200, signInPage(details.uid, clientId));
      } else if (match[2] === '/login' && request.method === 'POST') {
        const form = await formOf(request);
        const user = users.get(form.get('username'));
        if (!user || user.password !== form.get('password')) {
          send(response, 200, signInPage(details.uid, clientId, 'Wrong username or password.'));
          return;
        }
        await provider.interactionFinished(request, response,
          { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
      } else if (match[2] === '/abort' && request.method === 'POST') {
        await provider.interactionFinished(request, response, {
          error: 'access_denied', error_description: 'The user cancelled the sign-in',
        }, { mergeWithLastSubmission: false });
      } else {
        send(response, 405, 'Method not allowed');
      }
    } catch (error) {
      send(response, 400, `<p>${escape(error.message)}</p>`);
    }
  });
  console.log(`issuer ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
