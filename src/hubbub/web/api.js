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

/** A new account: its name, and the default rooms it was put in (the first to be shown). */
export async function register(username, password) {
  const answer = await call('POST', 'register', { username, password });
  return { username: answer.user.username, rooms: answer.rooms ?? [] };
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
