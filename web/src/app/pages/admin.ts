import { Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Api, Feed, Me, PluginInfo, Token, errorText } from '../api';
import { AdminTenants, AdminUsers } from './admin-accounts';
import { AdminPolicies } from './admin-policies';

@Component({
  selector: 'st-admin',
  imports: [FormsModule, AdminUsers, AdminTenants, AdminPolicies],
  template: `
    <h1 class="mb-4 text-2xl font-bold">Admin</h1>
    @if (me(); as m) { <p class="mb-4 text-sm">Signed in as <strong>{{ m.subject }}</strong> ({{ m.role }}) in tenant <strong>{{ m.tenant }}</strong> · Stella {{ m.version }}</p> }
    <div class="grid gap-4 lg:grid-cols-2">
      <section class="card" aria-labelledby="t-tokens">
        <h2 id="t-tokens" class="mb-2 font-semibold">API tokens</h2>
        <form class="mb-3 flex flex-wrap items-end gap-2" (ngSubmit)="createToken()">
          <div class="flex flex-col"><label for="tok-name" class="text-sm font-semibold">Token name</label><input id="tok-name" name="name" class="input" [(ngModel)]="tokName" required></div>
          <div class="flex flex-col"><label for="tok-role" class="text-sm font-semibold">Token role</label>
            <select id="tok-role" name="role" class="input" [(ngModel)]="tokRole"><option>viewer</option><option>scanner</option><option>admin</option></select></div>
          <button type="submit" class="btn" [disabled]="!tokName.trim()">Create token</button>
        </form>
        @if (secret()) { <p role="status" class="mb-2 break-all rounded bg-amber-100 p-2 text-sm">New token (shown once): <code data-test="secret">{{ secret() }}</code></p> }
        <table class="data"><thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Owner</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            @for (t of tokens(); track t.id) {
              <tr [attr.data-token]="t.name"><td>{{ t.name }}</td><td>{{ t.role }}</td><td>{{ t.subject }}</td><td>{{ t.revokedAt ? 'revoked' : 'active' }}</td>
                <td>@if (!t.revokedAt) { <button type="button" class="btn-secondary" (click)="revoke(t)" [attr.aria-label]="'Revoke token ' + t.name">Revoke</button> }</td></tr>
            } @empty { <tr><td colspan="5">No tokens.</td></tr> }
          </tbody></table>
      </section>
      <st-admin-users />
      <st-admin-tenants />
      <section class="card" aria-labelledby="t-plugins">
        <h2 id="t-plugins" class="mb-2 font-semibold">Plug-ins</h2>
        <table class="data"><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Version</th><th scope="col">SHA-256</th><th scope="col">State</th></tr></thead>
          <tbody>
            @for (p of plugins(); track p.file) { <tr><td>{{ p.name }}</td><td>{{ p.kind }}</td><td>{{ p.version }}</td><td class="break-all font-mono text-xs">{{ p.sha256 }}</td><td>{{ p.state }}</td></tr> }
            @empty { <tr><td colspan="5">No plug-ins.</td></tr> }
          </tbody></table>
      </section>
      <section class="card" aria-labelledby="t-feeds">
        <h2 id="t-feeds" class="mb-2 font-semibold">Feeds</h2>
        <table class="data"><thead><tr><th scope="col">Source</th><th scope="col">Last sync</th><th scope="col">Records</th></tr></thead>
          <tbody>@for (f of feeds(); track f.name) { <tr><td>{{ f.name }}</td><td>{{ f.lastSync.slice(0, 16).replace('T', ' ') }}</td><td>{{ f.records }}</td></tr> }</tbody></table>
        <button type="button" class="btn mt-2" (click)="sync()" [disabled]="!syncAvailable()">Sync now</button>
        @if (!syncAvailable()) { <p class="mt-1 text-sm">This server has no feed mirror; sync with <code>stella db sync</code>.</p> }
        @if (syncMsg()) { <p role="status" class="mt-1 text-sm">{{ syncMsg() }}</p> }
      </section>
      <div class="lg:col-span-2"><st-admin-policies /></div>
    </div>
  `,
})
export class Admin {
  private api = inject(Api);
  me = signal<Me | null>(null);
  tokens = signal<Token[]>([]);
  secret = signal('');
  tokName = '';
  tokRole = 'viewer';
  plugins = signal<PluginInfo[]>([]);
  feeds = signal<Feed[]>([]);
  syncAvailable = signal(false);
  syncMsg = signal('');

  constructor() {
    this.api.me().subscribe((m) => this.me.set(m));
    this.loadTokens();
    this.api.plugins().subscribe((r) => this.plugins.set(r.plugins));
    this.api.feeds().subscribe((r) => { this.feeds.set(r.feeds); this.syncAvailable.set(r.syncAvailable); });
  }
  loadTokens(): void { this.api.tokens().subscribe((r) => this.tokens.set(r.tokens ?? [])); }
  createToken(): void {
    this.api.createToken(this.tokName.trim(), this.tokRole).subscribe((r) => { this.secret.set(r.secret); this.tokName = ''; this.loadTokens(); });
  }
  revoke(t: Token): void { this.api.revokeToken(t.id).subscribe(() => this.loadTokens()); }
  sync(): void { this.api.syncFeeds().subscribe({ next: () => this.syncMsg.set('Synced.'), error: (e) => this.syncMsg.set(errorText(e)) }); }
}
