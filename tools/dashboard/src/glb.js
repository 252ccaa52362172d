// The dashboard's 3D view, loaded only when someone opens it (three.js is ten times the size of
// the rest of the app): the same scene as the threejs_render viewer page (tools/web/scene.js).
import { showGlb } from '../../web/scene.js';

window.HartomatGLB = { showGlb };
