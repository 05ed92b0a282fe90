// The few HTTP API calls the page makes: who am I, sign up, sign in, sign out, search.
//
// Sign-in sets the HttpOnly session cookie; the page never sees or stores the token, and
// the WebSocket handshake carries the cookie. Everything else but search goes over the
// WebSocket: a search answers one person's question and changes nothing, so plain HTTP.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || (status === 0 ? 'network' : 'internal');
    this.retryAfter = body?.retry_after ?? null;
  }
}

async function call(method, path, body, raw = null) {
  let response;
  try {
    response = await fetch(`/api/v1/${path}`, {
      method,
      credentials: 'same-origin',
      // Every POST says JSON, with a body or not: the server refuses sign-in and sign-out
      // requests without it (a cross-site form cannot send it). A file goes as its bytes.
      headers: method === 'GET' || raw ? {} : { 'Content-Type': 'application/json' },
      body: raw ?? (body ? JSON.stringify(body) : undefined),
    });
  } catch {
    throw new ApiError(0, { message: 'cannot reach the server' });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (data && response.status === 429 && data.retry_after == null) {
      data.retry_after = Number(response.headers.get('Retry-After')) || null;
    }
    throw new ApiError(response.status, data);
  }
  return data;
}

/** The signed-in username, or null when the cookie is missing or no longer valid. */
export async function whoAmI() {
  try {
    return (await call('GET', 'me')).username;
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

/** A new account: its name, and the default rooms it was put in (the first to be shown).
 *  `invite`, an invite link's code, is needed when registration is by invitation. */
export async function register(username, password, invite = null) {
  const body = invite ? { username, password, invite } : { username, password };
  const answer = await call('POST', 'register', body);
  return { username: answer.user.username, rooms: answer.rooms ?? [] };
}

/** What a sign-up needs now: 'open', 'closed' or 'invite' (an invite code). */
export async function registrationMode() {
  return (await call('GET', 'registration')).mode;
}

export async function login(username, password) {
  return (await call('POST', 'login', { username, password })).user.username;
}

export async function logout() {
  await call('POST', 'logout');
}

/** A page of the messages holding `query`, newest first, after the cursor `before`. */
export async function searchMessages(query, before) {
  const params = new URLSearchParams({ query });
  if (before) params.set('before', before);
  return call('GET', `search?${params}`);
}

// --- profiles ------------------------------------------------------------------------------

/** A user's profile: {username, display_name, status, avatar, admin}; 404 if no such user. */
export async function getProfile(name) {
  return call('GET', `users/${encodeURIComponent(name)}`);
}

/** Change the user's own `display_name` and/or `status`: the profile as it is now. */
export async function updateProfile(fields) {
  return call('PATCH', 'me', fields);
}

/** A new avatar from an image file (PNG, JPEG, GIF or WebP): the profile as it is now. */
export async function uploadAvatar(file) {
  return call('PUT', 'me/avatar', null, file);
}

export async function removeAvatar() {
  return call('DELETE', 'me/avatar');
}

/** A new password; `signOutOthers` ends every other session of the user. */
export async function changePassword(oldPassword, newPassword, signOutOthers) {
  await call('POST', 'me/password', {
    old_password: oldPassword,
    new_password: newPassword,
    sign_out_others: signOutOthers,
  });
}

// --- the server's settings (server admins): registration, invite links, guests ---------------

/** {registration, guests} in force, `config` (what holds where nothing is set) and `set`. */
export async function getServerSettings() {
  return call('GET', 'admin/settings');
}

/** Set `registration` and/or `guests`; null clears one (the config's value holds again). */
export async function changeServerSettings(fields) {
  return call('PATCH', 'admin/settings', fields);
}

/** A new invite link: {id, code, url, expires_at, max_uses, uses}; the code is shown once. */
export async function createInvite(expiresIn, maxUses = null) {
  const body = { expires_in: expiresIn };
  if (maxUses) body.max_uses = maxUses;
  return call('POST', 'admin/invites', body);
}

export async function listInvites() {
  return (await call('GET', 'admin/invites')).invites;
}

export async function revokeInvite(id) {
  await call('DELETE', `admin/invites/${encodeURIComponent(id)}`);
}

export async function listGuestBans() {
  return (await call('GET', 'admin/guest-bans')).bans;
}

/** Ban an IP address or network (CIDR) from connecting as a guest: its canonical form. */
export async function banGuests(address) {
  return (await call('POST', 'admin/guest-bans', { address })).address;
}

export async function unbanGuests(address) {
  await call('DELETE', `admin/guest-bans/${encodeURIComponent(address)}`);
}

// --- accounts and the audit log (server admins) -------------------------------------------

/** Whether the signed-in user is a server admin (GET /me says `"admin": true`). */
export async function amAdmin() {
  return (await call('GET', 'me')).admin === true;
}

/** A page of accounts by username, after `after`: [{username, display_name, role, deactivated, created_at}]. */
export async function listAccounts(after = null, limit = 50) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (after) query.set('after', after);
  return (await call('GET', `admin/users?${query}`)).accounts;
}

/** Make `name` a server admin ('admin') or a member ('member'); the account as it stands. */
export async function setServerRole(name, role) {
  return call('POST', `admin/users/${encodeURIComponent(name)}/role`, { role });
}

/** Deactivate (true) or reactivate (false) `name`; the account as it stands. */
export async function setDeactivated(name, deactivated) {
  const verb = deactivated ? 'deactivate' : 'reactivate';
  return call('POST', `admin/users/${encodeURIComponent(name)}/${verb}`);
}

/** A page of the audit log, newest first, older than the entry `before` (an id). */
export async function auditLog(before = null, limit = 50) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (before) query.set('before', String(before));
  return (await call('GET', `admin/audit?${query}`)).entries;
}

// --- incoming webhooks ------------------------------------------------------------------------

/** The room's webhooks: [{id, room, name, username, created_by, created_at}], no secrets. */
export async function listWebhooks(room) {
  return (await call('GET', `rooms/${encodeURIComponent(room)}/webhooks`)).webhooks;
}

/** A new webhook of `room`: {id, name, room, username, url, token}; `url` is shown once. */
export async function createWebhook(room, name) {
  return call('POST', `rooms/${encodeURIComponent(room)}/webhooks`, { name });
}

export async function revokeWebhook(room, id) {
  await call('DELETE', `rooms/${encodeURIComponent(room)}/webhooks/${encodeURIComponent(id)}`);
}

// --- outgoing webhooks ------------------------------------------------------------------------

const outgoingPath = (room) => `rooms/${encodeURIComponent(room)}/outgoing-webhooks`;

/** The room's outgoing webhooks: [{hook: {id, name, url, trigger, words, …}, last_delivery?}]. */
export async function listOutgoingWebhooks(room) {
  return (await call('GET', outgoingPath(room))).webhooks;
}

/** A new outgoing webhook: {hook, secret}; the secret is shown once. */
export async function createOutgoingWebhook(room, { name, url, trigger, words }) {
  return call('POST', outgoingPath(room), trigger === 'words' ? { name, url, trigger, words } : { name, url, trigger });
}

export async function revokeOutgoingWebhook(room, id) {
  await call('DELETE', `${outgoingPath(room)}/${encodeURIComponent(id)}`);
}

/** The hook's last deliveries, newest first: [{seq, msg_id, attempts, status?, error?, duration_ms, at}]. */
export async function outgoingDeliveries(room, id) {
  return (await call('GET', `${outgoingPath(room)}/${encodeURIComponent(id)}/deliveries`)).deliveries;
}
