import { Component, computed, inject } from '@angular/core';
import { Router, RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { setToken, token } from './api';

@Component({
  selector: 'st-root',
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  template: `
    <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:p-2 focus:bg-white">Skip to content</a>
    <header class="bg-slate-900 text-white">
      <nav class="mx-auto flex max-w-7xl flex-wrap items-center gap-4 px-4 py-2" aria-label="Main">
        <a routerLink="/dashboard" class="text-lg font-bold tracking-tight">✦ Stella</a>
        @if (signedIn()) {
          <a routerLink="/dashboard" routerLinkActive="underline" class="hover:underline">Dashboard</a>
          <a routerLink="/scans" routerLinkActive="underline" [routerLinkActiveOptions]="{ exact: true }" class="hover:underline">Scans</a>
          <a routerLink="/scans/new" routerLinkActive="underline" class="hover:underline">New scan</a>
          <a routerLink="/admin" routerLinkActive="underline" class="hover:underline">Admin</a>
          <button type="button" class="ml-auto rounded border border-white/60 px-2 py-1 text-sm hover:bg-white/10" (click)="signOut()">Sign out</button>
        }
      </nav>
    </header>
    <main id="main" class="mx-auto max-w-7xl p-4"><router-outlet /></main>
  `,
})
export class App {
  private router = inject(Router);
  signedIn = computed(() => !!token());
  signOut(): void {
    setToken(null);
    this.router.navigateByUrl('/login');
  }
}
