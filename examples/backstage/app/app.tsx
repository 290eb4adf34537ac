/**
 * The Backstage app (new frontend system): the catalog, Honk's plugin, and a sign-in page
 * with the guest provider (the backend's guest auth module signs the user in; no external
 * identity provider). Features are listed here instead of discovered from package.json,
 * because the bundle is built by Vite, not by backstage-cli (see ../README.md).
 */
import { SignInPage } from '@backstage/core-components';
import { createApp } from '@backstage/frontend-defaults';
import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import honkPlugin from '@honk/backstage-plugin-honk';

const signInPage = SignInPageBlueprint.make({
  params: {
    loader: async () => (props) => <SignInPage {...props} providers={['guest']} />,
  },
});

export default createApp({
  features: [catalogPlugin, honkPlugin, createFrontendModule({ pluginId: 'app', extensions: [signInPage] })],
});
