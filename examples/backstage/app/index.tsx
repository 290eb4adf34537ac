/** The browser entry: Backstage's stylesheet and the app's root element. */
import '@backstage/ui/css/styles.css';
import { createRoot } from 'react-dom/client';
import app from './app.tsx';

createRoot(document.getElementById('root')!).render(app.createRoot());
