import { registerAccountPage } from "./components/account-page/account-page.js";
import { registerAppShell } from "./components/app-shell/app-shell.js";
import { registerCallPage } from "./components/call-page/call-page.js";
import { registerDeviceCheckPage } from "./components/device-check-page/device-check-page.js";
import { registerHomePage } from "./components/home-page/home-page.js";
import { registerLoginPage } from "./components/login-page/login-page.js";
import { registerSignupPage } from "./components/signup-page/signup-page.js";
import { registerMessageRecorder } from "./components/message-recorder/message-recorder.js";
import { registerThreadPage } from "./components/thread-page/thread-page.js";

registerHomePage();
registerLoginPage();
registerSignupPage();
registerAccountPage();
registerCallPage();
registerDeviceCheckPage();
registerMessageRecorder();
registerThreadPage();
registerAppShell();
