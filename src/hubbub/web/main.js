// Start-up: signed in (the session cookie is valid) → the chat; otherwise → the sign-in form.

import { logout, whoAmI } from './api.js';
import { App } from './app.js';
import { AuthView } from './auth.js';

const FLASH = 'hubbub:flash'; // a message for the sign-in form that survives the reload

let app = null;

function startApp(user, landing = null) {
  auth.hide();
  app = new App(user, { onSignOut: signOut });
  app.start(landing);
}

async function signOut(reason) {
  app?.stop();
  if (reason === 'expired') {
    sessionStorage.setItem(FLASH, 'Your session has ended. Please sign in again.');
  } else {
    try {
      await logout();
    } catch {
      // the cookie is cleared by the reload below either way once the server is back
    }
  }
  // A fresh page is the simplest way to drop every bit of the previous user's state.
  location.replace('/');
}

const auth = new AuthView(startApp);

async function boot() {
  const flash = sessionStorage.getItem(FLASH);
  sessionStorage.removeItem(FLASH);
  for (let attempt = 0; ; attempt++) {
    try {
      const user = await whoAmI();
      if (user) startApp(user);
      else auth.show(flash ?? '');
      return;
    } catch {
      // The server is restarting or unreachable: say so and keep trying.
      if (attempt === 0) auth.show('Cannot reach the server; retrying…');
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 1000 * 2 ** attempt)));
    }
  }
}

boot();
