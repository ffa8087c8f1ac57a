// Who is signed in. Locally: the development issuer's user picker. In AWS: Cognito's hosted UI with the
// authorization code flow and PKCE. Tokens are kept for this browser tab only (sessionStorage). The API is
// called with the access token where Cognito gives one (its authorizer checks scopes), else the ID token.
import { t } from "./i18n.js";

const TOKEN_KEY = "caseline.token"; // the ID token: who is signed in
const ACCESS_KEY = "caseline.access"; // Cognito's access token: what the API takes (scopes), when there is one
const PKCE_KEY = "caseline.pkce";
let config = null;
const listeners = [];

function decode(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(decodeURIComponent(escape(atob(payload))));
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const session = {
  configure(authConfig) { config = authConfig; },
  config() { return config; },
  token() {
    return this.idToken() && (sessionStorage.getItem(ACCESS_KEY) || sessionStorage.getItem(TOKEN_KEY));
  },
  idToken() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return null;
    try {
      if (decode(token).exp * 1000 <= Date.now()) { sessionStorage.removeItem(TOKEN_KEY); return null; }
    } catch { return null; }
    return token;
  },
  user() {
    const token = this.idToken();
    if (!token) return null;
    const claims = decode(token);
    const groups = claims["cognito:groups"] || [];
    const role = groups.includes("caseline-admins") ? "admin" : groups.includes("caseline-staff") ? "agent" : "viewer";
    return { sub: claims.sub, email: claims.email, groups, role };
  },
  onChange(listener) { listeners.push(listener); },
  store(token, accessToken = null) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (accessToken) sessionStorage.setItem(ACCESS_KEY, accessToken);
    else sessionStorage.removeItem(ACCESS_KEY);
    listeners.forEach((listener) => listener());
  },
  expired() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ACCESS_KEY);
    listeners.forEach((listener) => listener());
  },
  async signInAs(userId) {
    const response = await fetch(`${config.token_url}?user=${encodeURIComponent(userId)}`);
    if (!response.ok) throw new Error(t("The development issuer refused the sign-in."));
    this.store((await response.json()).id_token);
  },
  async startHostedSignIn() {
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
    const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
    const url = new URL(`https://${config.domain}/oauth2/authorize`);
    url.search = new URLSearchParams({
      response_type: "code", client_id: config.client_id, redirect_uri: config.redirect_uri,
      scope: (config.scopes || ["openid", "email", "profile"]).join(" "),
      code_challenge: challenge, code_challenge_method: "S256", state,
    }).toString();
    window.location.assign(url.toString());
  },
  // Back from the hosted UI with ?code=&state=: trade the code for tokens, once.
  async finishHostedSignIn() {
    const params = new URLSearchParams(window.location.search);
    const code = params.get("code");
    if (!code || config?.mode !== "cognito") return false;
    const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "{}");
    sessionStorage.removeItem(PKCE_KEY);
    window.history.replaceState(null, "", window.location.pathname + window.location.hash);
    if (!saved.state || saved.state !== params.get("state")) throw new Error(t("The sign-in answer did not match."));
    const response = await fetch(`https://${config.domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code", client_id: config.client_id, code,
        redirect_uri: config.redirect_uri, code_verifier: saved.verifier,
      }),
    });
    if (!response.ok) throw new Error(t("Cognito did not accept the sign-in."));
    const tokens = await response.json();
    this.store(tokens.id_token, tokens.access_token);
    return true;
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ACCESS_KEY);
    if (config?.mode === "cognito") {
      const url = new URL(`https://${config.domain}/logout`);
      url.search = new URLSearchParams({ client_id: config.client_id, logout_uri: config.redirect_uri }).toString();
      window.location.assign(url.toString());
      return;
    }
    listeners.forEach((listener) => listener());
  },
};
