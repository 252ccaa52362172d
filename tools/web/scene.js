// The HartOMat GLB scene, shared by the threejs_render viewer page (viewer.js) and the farm
// dashboard's 3D view (tools/dashboard/src/glb.js): parse a GLB, soften OCCT's implicit metal,
// frame the camera on the bounding box, light it, and draw on demand (orbit, resize).
import * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

const MAX_METALNESS = 0.4;

// OCCT writes only baseColorFactor; glTF's default metallicFactor is 1, which three.js shows as
// dark metal. Where the file does not say, treat the part as a satin dielectric.
function softenImplicitMetal(gltf) {
  const defs = (gltf.parser.json.materials || []);
  gltf.scene.traverse((object) => {
    if (!object.isMesh) return;
    const materials = Array.isArray(object.material) ? object.material : [object.material];
    for (const material of materials) {
      const assoc = gltf.parser.associations.get(material);
      const def = assoc && assoc.materials !== undefined ? defs[assoc.materials] : undefined;
      const pbr = (def && def.pbrMetallicRoughness) || {};
      if (pbr.metallicFactor === undefined && material.metalness !== undefined) material.metalness = 0.0;
      // Without an environment map a full metal reflects nothing but the lights: nearly black.
      if (material.metalness !== undefined) material.metalness = Math.min(material.metalness, MAX_METALNESS);
      if (pbr.roughnessFactor === undefined && material.roughness !== undefined) material.roughness = 0.5;
      material.side = THREE.DoubleSide;
    }
  });
}

// Objects per part, by the part key HartOMat's GLB writer puts in node extras (userData here),
// never by name: two parts may share one.
function countParts(root) {
  const parts = {};
  root.traverse((object) => {
    const key = object.userData && object.userData.hartomat_part;
    if (key !== undefined) parts[key] = (parts[key] || 0) + 1;
  });
  return parts;
}

function countGeometry(root) {
  let meshes = 0, triangles = 0;
  root.traverse((object) => {
    if (!object.isMesh) return;
    meshes += 1;
    const geometry = object.geometry;
    const count = geometry.index ? geometry.index.count : geometry.attributes.position.count;
    triangles += Math.floor(count / 3);
  });
  return { meshes, triangles };
}

function frameCamera(camera, controls, box, config) {
  const sphere = box.getBoundingSphere(new THREE.Sphere());
  const radius = Math.max(sphere.radius, 1e-6);
  const vfov = THREE.MathUtils.degToRad(camera.fov);
  const hfov = 2 * Math.atan(Math.tan(vfov / 2) * camera.aspect);
  const distance = (radius / Math.sin(Math.min(vfov, hfov) / 2)) * (1 + config.margin);
  const az = THREE.MathUtils.degToRad(config.azimuth);
  const el = THREE.MathUtils.degToRad(config.elevation);
  const direction = new THREE.Vector3(Math.sin(az) * Math.cos(el), Math.sin(el), Math.cos(az) * Math.cos(el));
  camera.position.copy(sphere.center).addScaledVector(direction, distance);
  camera.near = distance / 100;
  camera.far = distance * 100;
  camera.updateProjectionMatrix();
  controls.target.copy(sphere.center);
  controls.update();
  return radius;
}

// Punctual lights only: prefiltering an environment map (PMREM) takes seconds on SwiftShader,
// where snapshots are taken, against well under one for the whole page without it.
function addLights(scene, center, radius) {
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8c8c8c, 1.8));
  const lights = [[0xffffff, 2.2, [2, 3, 2.5]], [0xffffff, 0.8, [-3, 1, -1]], [0xffffff, 0.6, [0, -2, -3]]];
  for (const [colour, intensity, [x, y, z]] of lights) {
    const light = new THREE.DirectionalLight(colour, intensity);
    light.position.set(center.x + radius * x, center.y + radius * y, center.z + radius * z);
    light.target.position.copy(center);
    scene.add(light, light.target);
  }
}

// Show `glb` (an ArrayBuffer) in `container`, sized by `size()` -> [width, height].
// config: {background, margin, azimuth, elevation}. Calls onReady(stats) after the first frame
// and onError(message) when the GLB cannot be shown; `mark(name)` records timings.
// Returns {resize, dispose}.
export function showGlb({ container, glb, config, size, onReady, onError, mark = () => {} }) {
  const [width, height] = size();
  const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(width, height);
  renderer.outputColorSpace = THREE.SRGBColorSpace;
  container.appendChild(renderer.domElement);

  const scene = new THREE.Scene();
  scene.background = new THREE.Color(config.background);
  const camera = new THREE.PerspectiveCamera(35, width / height, 0.01, 1000);
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.enableDamping = false;
  const draw = () => renderer.render(scene, camera);

  new GLTFLoader().parse(glb, '', (gltf) => {
    mark('parsed');
    softenImplicitMetal(gltf);
    scene.add(gltf.scene);
    const box = new THREE.Box3().setFromObject(gltf.scene);
    if (box.isEmpty()) { onError('the GLB has no visible geometry'); return; }
    const radius = frameCamera(camera, controls, box, config);
    addLights(scene, box.getCenter(new THREE.Vector3()), radius);
    mark('lit');
    const stats = { ...countGeometry(gltf.scene), parts: countParts(gltf.scene), min: box.min.toArray(), max: box.max.toArray() };
    // Draw on demand (orbit, resize) rather than in a loop: an idle page costs no CPU.
    controls.addEventListener('change', draw);
    draw();
    mark('first_frame');
    requestAnimationFrame(() => requestAnimationFrame(() => { draw(); onReady(stats); }));
  }, (error) => onError('cannot read the GLB: ' + (error && error.message ? error.message : error)));

  return {
    resize() {
      const [w, h] = size();
      camera.aspect = w / h;
      camera.updateProjectionMatrix();
      renderer.setSize(w, h);
      draw();
    },
    dispose() {
      controls.dispose();
      renderer.dispose();
      renderer.domElement.remove();
    },
  };
}
