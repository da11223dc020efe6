import { Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Api, Quota, TenantInfo, User, errorText } from '../api';

const roles = ['viewer', 'scanner', 'admin'];

/** Users and roles of the caller's tenant (admins only). */
@Component({
  selector: 'st-admin-users',
  imports: [FormsModule],
  template: `
    <section class="card" aria-labelledby="t-users">
      <h2 id="t-users" class="mb-2 font-semibold">Users and roles</h2>
      @if (error()) { <p class="text-sm">{{ error() }}</p> } @else {
        <p class="mb-2 text-sm text-slate-700">{{ note() }}</p>
        @if (managed()) {
          <form class="mb-3 flex flex-wrap items-end gap-2" (ngSubmit)="add()" aria-label="Add a user">
            <div class="flex flex-col"><label for="u-sub" class="text-sm font-semibold">Subject</label>
              <input id="u-sub" name="sub" class="input" [(ngModel)]="newSub" required placeholder="bob@example.com"></div>
            <div class="flex flex-col"><label for="u-name" class="text-sm font-semibold">Display name</label>
              <input id="u-name" name="uname" class="input" [(ngModel)]="newName"></div>
            <div class="flex flex-col"><label for="u-role" class="text-sm font-semibold">User role</label>
              <select id="u-role" name="urole" class="input" [(ngModel)]="newRole">@for (r of roles; track r) { <option>{{ r }}</option> }</select></div>
            <button type="submit" class="btn" [disabled]="!newSub.trim()">Add user</button>
          </form>
        }
        <div class="overflow-x-auto">
        <table class="data">
          <thead><tr><th scope="col">Subject</th><th scope="col">Role</th><th scope="col">Tokens</th><th scope="col">Disabled</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            @for (u of users(); track u.subject) {
              <tr [attr.data-user]="u.subject">
                <td><span class="break-words">{{ u.subject }}</span>@if (u.name) { <br><span class="text-xs text-slate-700">{{ u.name }}</span> }</td>
                <td>
                  @if (managed()) {
                    <select class="input max-w-[8.5rem]" [attr.aria-label]="'Role of ' + u.subject" [ngModel]="edits[u.subject]?.role ?? u.role ?? ''" (ngModelChange)="edit(u, 'role', $event)">
                      @if (!u.role) { <option value="">from the IdP</option> }
                      @for (r of roles; track r) { <option [value]="r">{{ r }}</option> }
                    </select>
                  } @else { {{ u.roles.join(', ') }} }
                  @if (u.roles.length) { <br><span class="text-xs text-slate-700">tokens: {{ u.roles.join(', ') }}</span> }
                </td>
                <td>{{ u.tokens }}</td>
                <td>@if (managed()) {
                  <input type="checkbox" [attr.aria-label]="'Disable ' + u.subject" [ngModel]="edits[u.subject]?.disabled ?? u.disabled" (ngModelChange)="edit(u, 'disabled', $event)">
                } @else { {{ u.disabled ? 'yes' : 'no' }} }</td>
                <td>@if (managed()) { <div class="flex flex-wrap gap-1">
                  <button type="button" class="btn-secondary" [disabled]="!edits[u.subject]" (click)="save(u)" [attr.aria-label]="'Save ' + u.subject">Save</button>
                  @if (u.managed) { <button type="button" class="btn-secondary" (click)="remove(u)" [attr.aria-label]="'Delete user ' + u.subject">Delete</button> }
                </div> }</td>
              </tr>
            } @empty { <tr><td colspan="5">No users.</td></tr> }
          </tbody>
        </table>
        </div>
        @if (msg()) { <p role="status" class="mt-2 text-sm" data-test="users-status">{{ msg() }}</p> }
      }
    </section>
  `,
})
export class AdminUsers {
  private api = inject(Api);
  roles = roles;
  users = signal<User[]>([]);
  managed = signal(false);
  note = signal('');
  error = signal('');
  msg = signal('');
  edits: Record<string, { role?: string; disabled?: boolean }> = {};
  newSub = '';
  newName = '';
  newRole = 'viewer';

  constructor() { this.load(); }
  load(): void {
    this.api.users().subscribe({
      next: (r) => { this.users.set(r.users); this.managed.set(r.managed); this.note.set(r.note); this.edits = {}; },
      error: (e) => this.error.set(e?.status === 403 ? 'Only admins see users.' : errorText(e)),
    });
  }
  edit(u: User, k: 'role' | 'disabled', v: string | boolean): void {
    this.edits = { ...this.edits, [u.subject]: { ...this.edits[u.subject], [k]: v } };
  }
  private put(subject: string, role: string, name: string | undefined, disabled: boolean): void {
    this.api.putUser(subject, { role, name, disabled }).subscribe({
      next: (r) => { this.msg.set(`Saved ${subject}: ${role}${disabled ? ', disabled' : ''}; ${r.revoked} token(s) revoked.`); this.load(); },
      // A refused change is not shown as if it were pending.
      error: (e) => { this.msg.set(errorText(e)); this.load(); },
    });
  }
  add(): void {
    this.put(this.newSub.trim(), this.newRole, this.newName.trim() || undefined, false);
    this.newSub = ''; this.newName = '';
  }
  save(u: User): void {
    const e = this.edits[u.subject] ?? {};
    const role = e.role || u.role;
    if (!role) { this.msg.set(`Choose a role for ${u.subject} first.`); return; }
    this.put(u.subject, role, u.name, e.disabled ?? u.disabled);
  }
  remove(u: User): void {
    this.api.deleteUser(u.subject).subscribe({
      next: () => { this.msg.set(`Deleted ${u.subject}; their tokens are revoked.`); this.load(); },
      error: (e) => this.msg.set(errorText(e)),
    });
  }
}

/** Tenants with their quotas and usage; operators configure them. */
@Component({
  selector: 'st-admin-tenants',
  imports: [FormsModule],
  template: `
    <section class="card" aria-labelledby="t-tenants">
      <h2 id="t-tenants" class="mb-2 font-semibold">Tenants, quotas and usage</h2>
      @if (quota(); as q) {
        <p class="mb-2 text-sm" data-test="quota">Tenant <strong>{{ q.tenant }}</strong>: scans today {{ q.scansToday }} of {{ q.scansPerDay || 'unlimited' }};
          {{ q.requestsPerMinute || 'unlimited' }} requests per minute@if (q.overridden) { (own quotas)}.</p>
      }
      @if (isAdmin()) {
        <div class="overflow-x-auto">
        <table class="data">
          <thead><tr><th scope="col">Tenant</th><th scope="col">Scans today / per day</th><th scope="col">Requests / min</th><th scope="col">Tokens</th><th scope="col">Users</th><th scope="col">State</th>
            @if (editable()) { <th scope="col"><span class="sr-only">Actions</span></th> }</tr></thead>
          <tbody>
            @for (t of tenants(); track t.name) {
              <tr [attr.data-tenant]="t.name">
                <td>{{ t.name }}@if (t.displayName) { <br><span class="text-xs text-slate-700">{{ t.displayName }}</span> }</td>
                <td>{{ t.scansToday }} / {{ t.scansPerDay || '∞' }}@if (t.scansPerDayOverride) { <span class="text-xs"> (own)</span> }</td>
                <td>{{ t.requestsPerMinute || '∞' }}@if (t.requestsPerMinuteOverride) { <span class="text-xs"> (own)</span> }</td>
                <td>{{ t.tokens }}</td><td>{{ t.users }}</td><td>{{ t.disabled ? 'disabled' : 'active' }}</td>
                @if (editable()) { <td><button type="button" class="btn-secondary" (click)="pick(t)" [attr.aria-label]="'Edit tenant ' + t.name">Edit</button></td> }
              </tr>
            }
          </tbody>
        </table>
        </div>
        @if (editable()) {
          <form class="mt-3 grid gap-2 sm:grid-cols-2" (ngSubmit)="save()" aria-label="Configure a tenant">
            <div class="flex flex-col"><label for="tn-name" class="text-sm font-semibold">Tenant name</label>
              <input id="tn-name" name="tname" class="input" [(ngModel)]="form.name" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,62}"></div>
            <div class="flex flex-col"><label for="tn-display" class="text-sm font-semibold">Tenant display name</label>
              <input id="tn-display" name="tdisplay" class="input" [(ngModel)]="form.displayName"></div>
            <div class="flex flex-col"><label for="tn-spd" class="text-sm font-semibold">Scans per day (0: server default)</label>
              <input id="tn-spd" name="tspd" type="number" min="0" class="input" [(ngModel)]="form.scansPerDay"></div>
            <div class="flex flex-col"><label for="tn-rpm" class="text-sm font-semibold">Requests per minute (0: server default)</label>
              <input id="tn-rpm" name="trpm" type="number" min="0" class="input" [(ngModel)]="form.requestsPerMinute"></div>
            <label class="flex items-center gap-1 text-sm"><input type="checkbox" name="tdis" [(ngModel)]="form.disabled"> Tenant disabled</label>
            <button type="submit" class="btn justify-self-start" [disabled]="!form.name.trim()">Save tenant</button>
          </form>
        } @else if (operator()) {
          <p class="mt-2 text-sm text-slate-700">This server's store keeps no tenant settings (the MongoDB store does not; the SQLite store does): quotas come from <code>--rate-limit</code> and <code>--scans-per-day</code>.</p>
        } @else {
          <p class="mt-2 text-sm text-slate-700">Tenant settings and quotas are managed by the admins of the operator tenant.</p>
        }
        @if (msg()) { <p role="status" class="mt-2 text-sm" data-test="tenants-status">{{ msg() }}</p> }
      }
    </section>
  `,
})
export class AdminTenants {
  private api = inject(Api);
  quota = signal<Quota | null>(null);
  tenants = signal<TenantInfo[]>([]);
  editable = signal(false);
  operator = signal(false);
  isAdmin = signal(false);
  msg = signal('');
  form = { name: '', displayName: '', scansPerDay: 0, requestsPerMinute: 0, disabled: false };

  constructor() { this.load(); }
  load(): void {
    this.api.quotas().subscribe((q) => this.quota.set(q));
    this.api.tenants().subscribe({
      next: (r) => { this.tenants.set(r.tenants); this.editable.set(r.editable); this.operator.set(r.operator); this.isAdmin.set(true); },
      error: () => this.isAdmin.set(false),
    });
  }
  pick(t: TenantInfo): void {
    this.form = { name: t.name, displayName: t.displayName ?? '', scansPerDay: t.scansPerDayOverride, requestsPerMinute: t.requestsPerMinuteOverride, disabled: t.disabled };
  }
  save(): void {
    const f = this.form;
    this.api.putTenant(f.name.trim(), { displayName: f.displayName.trim() || undefined, scansPerDay: Number(f.scansPerDay) || 0,
      requestsPerMinute: Number(f.requestsPerMinute) || 0, disabled: f.disabled }).subscribe({
      next: (t) => { this.msg.set(`Saved tenant ${t.name}: ${t.scansPerDay || 'unlimited'} scans per day.`); this.load(); },
      error: (e) => this.msg.set(errorText(e)),
    });
  }
}
