import { Injectable, inject, signal } from '@angular/core';
import { HttpClient, HttpInterceptorFn } from '@angular/common/http';
import { Observable } from 'rxjs';

const KEY = 'stella.token';

/** The bearer token, kept for the browser session only. */
export const token = signal<string | null>(sessionStorage.getItem(KEY));

export function setToken(t: string | null): void {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
  token.set(t);
}

export const authInterceptor: HttpInterceptorFn = (req, next) => {
  const t = token();
  return next(t && req.url.startsWith('/api/') ? req.clone({ setHeaders: { Authorization: `Bearer ${t}` } }) : req);
};

export interface Me { subject: string; tenant: string; role: string; version: string }
export interface ScanSummary {
  id: string; target: string; state: string; verdict?: string; digest?: string;
  createdAt: string; updatedAt: string; error?: string;
}
export interface Finding {
  id: string; aliases?: string[]; summary?: string;
  package: { id: string; name: string; version: string; ecosystem: string; purl?: string; layer?: string; layerIndex?: number };
  installedVersion: string; fixedVersions?: string[]; state: string;
  severity: { label: string; score?: number };
  kev?: { dateAdded: string }; epss?: { score: number; percentile: number };
  vex?: { status: string; justification?: string };
}
export interface Package { id: string; name: string; version: string; ecosystem: string; purl?: string; layer?: string; layerIndex?: number; licenses?: string[] }
export interface ScanDetail extends ScanSummary {
  result?: {
    target: string;
    image?: { name?: string; digest?: string; layers?: { index: number; diffID: string; size?: number; createdBy?: string }[] };
    sbom?: { packages: Package[] };
    findings: Finding[];
    policy: { decision: string; reasons?: string[] };
    summary?: { bySeverity: Record<string, number> };
  };
}
export interface DashboardData {
  scansByDay: { day: string; pass: number; warn: number; fail: number; other: number }[];
  bySeverity: Record<string, number>;
  kev: { scanId: string; target: string; id: string; package: string; version: string; severity: string }[];
  topImages: { target: string; findings: number; bySeverity: Record<string, number> }[];
  feeds: Feed[];
  totalScans: number;
  findings: number;
}
export interface Feed { name: string; lastSync: string; records: number; ageHours: number }
export interface Token { id: string; name: string; role: string; subject: string; createdAt: string; expiresAt?: string; revokedAt?: string }
export interface PluginInfo { file: string; name: string; kind: string; version: string; sha256: string; state: string; error?: string }
export interface User { subject: string; name?: string; role?: string; roles: string[]; tokens: number; disabled: boolean; managed: boolean }
export interface UserList { users: User[]; managed: boolean; note: string }
export interface UserUpdate { role: string; name?: string; disabled?: boolean }
export interface TenantInfo {
  name: string; displayName?: string; disabled: boolean; stored: boolean;
  scansPerDayOverride: number; requestsPerMinuteOverride: number; scansPerDay: number; requestsPerMinute: number;
  scansToday: number; tokens: number; users: number;
}
export interface TenantUpdate { displayName?: string; scansPerDay?: number; requestsPerMinute?: number; disabled?: boolean }
export interface Quota { tenant: string; requestsPerMinute: number; scansPerDay: number; scansToday: number; overridden: boolean }
export interface PolicyFile { path: string; name: string; source: string; uploaded: boolean }
export interface PolicyList { policies: PolicyFile[]; builtin: string; uploadable: boolean }

@Injectable({ providedIn: 'root' })
export class Api {
  private http = inject(HttpClient);
  me(): Observable<Me> { return this.http.get<Me>('/api/me'); }
  dashboard(): Observable<DashboardData> { return this.http.get<DashboardData>('/api/dashboard'); }
  scans(q: Record<string, string>): Observable<{ scans: ScanSummary[]; next?: string }> {
    return this.http.get<{ scans: ScanSummary[]; next?: string }>('/api/scans', { params: q });
  }
  scan(id: string): Observable<ScanDetail> { return this.http.get<ScanDetail>(`/api/scans/${encodeURIComponent(id)}`); }
  startScan(image: string): Observable<{ id: string }> { return this.http.post<{ id: string }>('/api/scan', { image }); }
  tokens(): Observable<{ tokens: Token[] }> { return this.http.get<{ tokens: Token[] }>('/api/tokens'); }
  createToken(name: string, role: string): Observable<{ token: Token; secret: string }> {
    return this.http.post<{ token: Token; secret: string }>('/api/tokens', { name, role });
  }
  revokeToken(id: string): Observable<unknown> { return this.http.delete(`/api/tokens/${encodeURIComponent(id)}`); }
  users(): Observable<UserList> { return this.http.get<UserList>('/api/users'); }
  putUser(subject: string, u: UserUpdate): Observable<{ user: User; revoked: number }> {
    return this.http.put<{ user: User; revoked: number }>(`/api/users/${encodeURIComponent(subject)}`, u);
  }
  deleteUser(subject: string): Observable<unknown> { return this.http.delete(`/api/users/${encodeURIComponent(subject)}`); }
  tenants(): Observable<{ tenants: TenantInfo[]; operator: boolean; editable: boolean }> { return this.http.get<any>('/api/tenants'); }
  putTenant(name: string, t: TenantUpdate): Observable<TenantInfo> { return this.http.put<TenantInfo>(`/api/tenants/${encodeURIComponent(name)}`, t); }
  quotas(): Observable<Quota> { return this.http.get<Quota>('/api/quotas'); }
  plugins(): Observable<{ plugins: PluginInfo[] }> { return this.http.get<any>('/api/plugins'); }
  feeds(): Observable<{ feeds: Feed[]; syncAvailable: boolean }> { return this.http.get<any>('/api/feeds'); }
  syncFeeds(): Observable<unknown> { return this.http.post('/api/feeds/sync', {}); }
  policies(): Observable<PolicyList> { return this.http.get<PolicyList>('/api/policies'); }
  uploadPolicy(name: string, module: string): Observable<{ path: string; reloaded: boolean }> {
    return this.http.post<{ path: string; reloaded: boolean }>('/api/policies', { name, module });
  }
  deletePolicy(name: string): Observable<unknown> { return this.http.delete(`/api/policies/${encodeURIComponent(name)}`); }
  testPolicy(scanId: string, module: string): Observable<any> { return this.http.post('/api/policies/test', { scanId, module }); }
}

/** Scan events from /api/events (the token rides in the query: browsers
 * cannot set headers on a WebSocket). Reconnects after a drop. */
export function scanEvents(onEvent: (e: { type: string; scanId: string; state: string; verdict?: string }) => void): () => void {
  let ws: WebSocket | null = null;
  let closed = false;
  const open = () => {
    const t = token();
    if (!t || closed) return;
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${proto}://${location.host}/api/events?access_token=${encodeURIComponent(t)}`);
    ws.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch { /* not an event */ } };
    ws.onclose = () => { if (!closed) setTimeout(open, 2000); };
  };
  open();
  return () => { closed = true; ws?.close(); };
}

/** The message of an API error answer. */
export function errorText(e: any): string {
  const b = e?.error;
  if (b?.problems) return `${b.error}:\n${b.problems.join('\n')}`;
  return b?.error ?? e?.message ?? 'Request failed.';
}

export const severities = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];
