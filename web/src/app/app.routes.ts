import { Routes, CanActivateFn, Router } from '@angular/router';
import { inject } from '@angular/core';
import { token } from './api';

const signedIn: CanActivateFn = () => (token() ? true : inject(Router).parseUrl('/login'));

export const routes: Routes = [
  { path: 'login', loadComponent: () => import('./pages/login').then((m) => m.Login), title: 'Sign in · Stella' },
  { path: '', pathMatch: 'full', redirectTo: 'dashboard' },
  { path: 'dashboard', canActivate: [signedIn], loadComponent: () => import('./pages/dashboard').then((m) => m.Dashboard), title: 'Dashboard · Stella' },
  { path: 'scans', canActivate: [signedIn], loadComponent: () => import('./pages/scans').then((m) => m.Scans), title: 'Scans · Stella' },
  { path: 'scans/new', canActivate: [signedIn], loadComponent: () => import('./pages/new-scan').then((m) => m.NewScan), title: 'New scan · Stella' },
  { path: 'scans/:id', canActivate: [signedIn], loadComponent: () => import('./pages/scan-detail').then((m) => m.ScanDetailPage), title: 'Scan · Stella' },
  { path: 'admin', canActivate: [signedIn], loadComponent: () => import('./pages/admin').then((m) => m.Admin), title: 'Admin · Stella' },
  { path: '**', redirectTo: 'dashboard' },
];
